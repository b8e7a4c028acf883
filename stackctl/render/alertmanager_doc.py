"""The Alertmanager document stackctl runs: the user's config as written, then made local.

A user's ``alertmanager.config`` (or ``alertmanager.receivers`` in stackctl.yaml) names real
Slack, PagerDuty, Opsgenie, e-mail, MS Teams, Telegram... receivers. Run as written, a seeded
alert or ``fire-alerts`` would page a real person (or fail against a placeholder key), and the
notification would never be seen here. So the local stack keeps the user's **routing** exactly
(route tree, matchers, ``continue``, grouping, timers, inhibit rules, time intervals, receiver
names) and replaces each receiver's **integrations** (every ``*_configs`` list) with one webhook
to the local notification sink. The sink records the receiver's name (Alertmanager's webhook
payload carries it), so ``notifications`` and ``fire-alerts`` show the route each alert took.

Webhooks to this machine (``http://127.0.0.1:5001/``, a consumer under test) are kept beside
the sink's. A receiver with no integrations (kube-prometheus' ``"null"``) stays empty: Alertmanager notifies
nobody for it, and ``fire-alerts`` says so. The as-written document is what ``amtool`` checks
(a Slack receiver without ``api_url`` is refused as Alertmanager would refuse it); ``global``
loses its notifier settings (secrets, proxies) in the local copy, since nothing uses them.
The seeds' own Slack/PagerDuty receivers, activated by their environment secrets, are left real.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any
from urllib.parse import urlsplit

import yaml

from stackctl.assets import asset_path
from stackctl.config import Config
from stackctl.errors import ConfigError
from stackctl.render.alertmanager_check import base_path, external_parts

SINK_URL = "http://notify-sink:9097/cgi-bin/notify"
# Where the stack really runs: the rest (the Kubernetes export) keeps the user's receivers.
LOCAL_RUNTIMES = ("docker", "native")
_GLOBAL_KEPT = ("resolve_timeout",)


def as_written(cfg: Config) -> dict[str, Any]:
    """The base config (the user's override or ours), the external receivers whose secrets are
    set, and stackctl.yaml's receivers/routes: what a real Alertmanager would be given."""
    doc = _load_base(cfg)
    section = cfg.alertmanager
    active = set(cfg.external_secrets)
    external = asset_path("alertmanager", "external-receivers.yml")
    if active and external.is_file():
        receivers, routes = external_parts(yaml.safe_load(external.read_text(encoding="utf-8")) or {}, active)
        doc.setdefault("receivers", []).extend(receivers)
        doc.setdefault("route", {}).setdefault("routes", [])[:0] = routes
    if section:
        doc.setdefault("receivers", []).extend(copy.deepcopy(section.receivers))
        doc.setdefault("route", {}).setdefault("routes", [])[:0] = copy.deepcopy(section.routes)
    return doc


def _foreign_shape(doc: dict[str, Any]) -> str | None:
    """What the file is when it is a wrapper around an Alertmanager config rather than one."""
    if "route" in doc or "receivers" in doc:
        return None
    if doc.get("kind") == "Secret":
        keys = [k for part in ("stringData", "data") for k in (doc.get(part) or {}) if isinstance(doc.get(part), dict)]
        return (f"this is a Kubernetes Secret; its config is the value of {', '.join(f'{k!r}' for k in keys) or 'one of its data keys'}: "
                "copy that value into a file of its own")
    if doc.get("kind") == "AlertmanagerConfig":
        return "this is a prometheus-operator AlertmanagerConfig resource (camelCase spec), not an alertmanager.yml"
    for outer in ("alertmanager", "config"):
        inner = doc.get(outer)
        nested = inner.get("config") if isinstance(inner, dict) and outer == "alertmanager" else inner
        if isinstance(nested, dict) and ("route" in nested or "receivers" in nested):
            where = "alertmanager.config" if outer == "alertmanager" else "config"
            return f"this looks like Helm chart values; the Alertmanager config is under `{where}`: copy that map (without the chart's own `enabled:` key) into a file of its own"
    return None


def local(cfg: Config) -> dict[str, Any]:
    """:func:`as_written` with every receiver of the user's (not the env-activated seeds')
    delivering to the local notification sink, and nothing that could leave the machine."""
    doc = as_written(cfg)
    keep = {id(r) for r in _external_receivers(cfg, doc)}
    for receiver in doc.get("receivers") or []:
        if isinstance(receiver, dict) and id(receiver) not in keep:
            _to_sink(receiver)
    if isinstance(doc.get("global"), dict):
        doc["global"] = {k: v for k, v in doc["global"].items() if k in _GLOBAL_KEPT}
        if not doc["global"]:
            del doc["global"]
    # Templates only shape the messages of the integrations replaced above (a webhook renders
    # none); the as-written check still parses them.
    doc.pop("templates", None)
    return doc


def integrations(receiver: dict[str, Any]) -> list[str]:
    """The receiver's notifier lists that are set: ``slack_configs``, ``webhook_configs``..."""
    return [k for k, v in receiver.items() if isinstance(k, str) and k.endswith("_configs") and v]


def _to_sink(receiver: dict[str, Any]) -> None:
    kinds = integrations(receiver)
    if not kinds or _only_sink(receiver, kinds):
        return
    # Webhooks to this machine (a consumer under test on 127.0.0.1) stay: nothing leaves the machine.
    # Only what says where and what to post: an http_config (a proxy) could still lead elsewhere.
    local = [{k: v for k, v in h.items() if k in ("url", "send_resolved", "max_alerts")}
             for h in receiver.get("webhook_configs") or [] if isinstance(h, dict) and _loopback(h.get("url"))]
    for key in [k for k in receiver if isinstance(k, str) and k.endswith("_configs")]:
        del receiver[key]
    receiver["webhook_configs"] = [*local, {"url": SINK_URL, "send_resolved": True}]


def _loopback(url: Any) -> bool:
    host = (urlsplit(str(url)).hostname or "") if url else ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _only_sink(receiver: dict[str, Any], kinds: list[str]) -> bool:
    if kinds != ["webhook_configs"]:
        return False
    hooks = receiver["webhook_configs"]
    return isinstance(hooks, list) and all(isinstance(h, dict) and str(h.get("url", "")).rstrip("/").endswith("/cgi-bin/notify")
                                           and "notify-sink" in str(h.get("url", "")) for h in hooks)


def _external_receivers(cfg: Config, doc: dict[str, Any]) -> list[Any]:
    """The env-activated seed receivers inside ``doc`` (they follow the base's receivers)."""
    if not cfg.external_secrets:
        return []
    base = _load_base(cfg).get("receivers") or []
    external = asset_path("alertmanager", "external-receivers.yml")
    if not external.is_file():
        return []
    count = len(external_parts(yaml.safe_load(external.read_text(encoding="utf-8")) or {}, set(cfg.external_secrets))[0])
    start = len(base) if isinstance(base, list) else 0
    receivers = doc.get("receivers") or []
    return list(receivers[start:start + count])


def _load_base(cfg: Config) -> dict[str, Any]:
    path = base_path(cfg)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"alertmanager config {path}: {exc}", hint="fix the file named by `alertmanager.config` in stackctl.yaml") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"alertmanager config {path}: expected a mapping (route:, receivers:...), got {type(doc).__name__}",
                          hint="give the file Alertmanager reads (alertmanager.yml), not a Kubernetes Secret or a Helm values file")
    foreign = _foreign_shape(doc)
    if foreign:
        raise ConfigError(f"alertmanager config {path}: {foreign}",
                          hint="point `alertmanager.config` at a file holding only the Alertmanager config (global:, route:, receivers:...)")
    return doc
