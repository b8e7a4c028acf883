"""Keep every credential out of an exported Alertmanager config.

Alertmanager reads credentials from files (``api_url_file``, ``routing_key_file``, ...); the chart
mounts the Secrets listed in ``alertmanager.alertmanagerSpec.secrets`` at
``/etc/alertmanager/secrets/<secret>/<key>``. So every file reference becomes a key of one
Secret the user creates, and every credential written inline (a user's ``api_url: https://hooks...``)
is moved out the same way: the export names the key, never the value. A credential field that
has no ``*_file`` form cannot be exported safely and is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from stackctl.errors import ConfigError
from stackctl.export.chart import ALERTMANAGER_SECRETS_DIR

# integration -> inline credential field -> the field that reads it from a file (Alertmanager >= 0.28)
INLINE_SECRETS: dict[str, dict[str, str]] = {
    "slack_configs": {"api_url": "api_url_file"},
    "pagerduty_configs": {"routing_key": "routing_key_file", "service_key": "service_key_file"},
    "opsgenie_configs": {"api_key": "api_key_file"},
    "victorops_configs": {"api_key": "api_key_file"},
    "telegram_configs": {"bot_token": "bot_token_file"},
    "discord_configs": {"webhook_url": "webhook_url_file"},
    "msteams_configs": {"webhook_url": "webhook_url_file"},
    "msteamsv2_configs": {"webhook_url": "webhook_url_file"},
    "pushover_configs": {"user_key": "user_key_file", "token": "token_file"},
    "email_configs": {"auth_password": "auth_password_file"},
    "global": {"slack_api_url": "slack_api_url_file", "opsgenie_api_key": "opsgenie_api_key_file",
               "victorops_api_key": "victorops_api_key_file", "smtp_auth_password": "smtp_auth_password_file"},
    # http_config (anywhere): the common HTTP client's credentials
    "basic_auth": {"password": "password_file"},
    "authorization": {"credentials": "credentials_file"},
    "oauth2": {"client_secret": "client_secret_file"},
    "http_config": {"bearer_token": "bearer_token_file"},
}
# credentials with no *_file form: exporting them would put the value in values.yaml
NO_FILE_FORM = {("email_configs", "auth_secret"), ("wechat_configs", "api_secret"), ("global", "wechat_api_secret"),
                ("sigv4", "secret_key"), ("jira_configs", "api_token")}
_KEY_RE = re.compile(r"[^-._a-zA-Z0-9]+")


@dataclass(frozen=True)
class SecretKey:
    key: str  # the key in the Kubernetes Secret
    source: str  # where its value comes from, in words (never the value)


@dataclass
class SecretPlan:
    """The one Secret the exported Alertmanager config reads: its name and keys."""

    name: str
    keys: dict[str, SecretKey] = field(default_factory=dict)

    def mount_path(self, key: str) -> str:
        return f"{ALERTMANAGER_SECRETS_DIR}/{self.name}/{key}"

    def add(self, wanted: str, source: str) -> str:
        key = _KEY_RE.sub("-", wanted).strip("-.") or "secret"
        base, n = key, 2
        while key in self.keys and self.keys[key].source != source:
            key, n = f"{base}-{n}", n + 1
        self.keys[key] = SecretKey(key, source)
        return key


def externalize(config: dict[str, Any], plan: SecretPlan, env_sources: dict[str, str]) -> dict[str, Any]:
    """A copy of ``config`` whose credentials are all read from ``plan``'s Secret.

    ``env_sources`` maps a secret file's base name (as the renderer writes it, e.g.
    ``slack_webhook_url``) to the environment variable that supplies it locally.
    """
    return _walk(config, "", plan, env_sources, "", "global")


def _walk(node: Any, parent: str, plan: SecretPlan, env_sources: dict[str, str], where: str, stem: str) -> Any:
    """``stem`` names the Secret key readably: the receiver's name, then integration and index."""
    if isinstance(node, list):
        return [_walk(v, parent, plan, env_sources, f"{where}[{i}]", _stem(stem, parent, i, v)) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    inline = INLINE_SECRETS.get(parent, {})
    for key, value in node.items():
        here = f"{where}.{key}" if where else str(key)
        if (parent, key) in NO_FILE_FORM and value:
            raise ConfigError(f"alertmanager config {here}: this credential has no *_file form, so exporting it would write it into values.yaml",
                              hint="use an integration whose credential can be read from a file, or remove it before exporting")
        if key in inline and isinstance(value, str) and value:
            file_key = plan.add(f"{stem}-{key}", f"the value of {here} in your Alertmanager config")
            out[inline[key]] = plan.mount_path(file_key)
        elif isinstance(key, str) and key.endswith("_file") and isinstance(value, str) and value:
            out[key] = _remap_file(value, here, plan, env_sources)
        else:
            out[key] = _walk(value, str(key), plan, env_sources, here, stem)
    return out


def _stem(stem: str, parent: str, index: int, item: Any) -> str:
    if parent == "receivers" and isinstance(item, dict) and item.get("name"):
        return str(item["name"])
    return f"{stem}-{parent.removesuffix('_configs')}-{index}" if parent.endswith("_configs") else stem


def _remap_file(path: str, where: str, plan: SecretPlan, env_sources: dict[str, str]) -> str:
    prefix = f"{ALERTMANAGER_SECRETS_DIR}/{plan.name}/"
    if path.startswith(prefix):
        return path
    name = PurePosixPath(path).name
    under_stack = path.startswith((f"{ALERTMANAGER_SECRETS_DIR}/", "/run/secrets/"))
    if under_stack and name in env_sources:
        source = f"${env_sources[name]} (what stackctl reads locally)"
    else:
        source = f"the file {path} named by {where}"
    return plan.mount_path(plan.add(name, source))
