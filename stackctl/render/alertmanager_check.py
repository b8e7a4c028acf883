"""The rendered Alertmanager configuration checked with ``amtool check-config`` before it is
written, its errors mapped back to the file the user wrote.

Alertmanager refuses a config it cannot load (at start, or with a bare ``500`` on reload), and
names a line of the *rendered* file, which has lost the user's comments. The rendered text is
checked in a private temporary file instead, so a rejected config never replaces the last good
one, and each ``line N`` and each quoted name (``undefined receiver "x"``) is traced to the
place it came from: the override file (``alertmanager.config``), stackctl.yaml's
``alertmanager.receivers``/``routes``, or the shipped config.

amtool comes from the image Alertmanager will run (docker: same version, same verdict), else
from PATH; with neither, the check is skipped with a warning.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stackctl.assets import asset_path
from stackctl.config import Config
from stackctl.errors import ConfigError, ProcessError
from stackctl.proc import Command, run
from stackctl.yamlfile import LocatedYaml, parse_yaml

_DOCKER_OWN_FAILURES = (125, 126, 127)  # `docker run` failed, or the image has no amtool
_LINE_RE = re.compile(r"\bline (\d+):")
_TEMPLATE_RE = re.compile(r"^template: ([^:\s]+):(\d+):\s*(.*)$")  # Go's text/template parse error
_QUOTED_RE = re.compile(r'"([^"]+)"')
_INSIDE = "/check/alertmanager.yml"


def base_path(cfg: Config) -> Path:
    """The Alertmanager config the render starts from: the user's override file, or ours."""
    section = cfg.alertmanager
    if not (section and section.config):
        return asset_path("alertmanager", "alertmanager.yml")
    path = Path(section.config)
    if cfg.config_file and not path.is_absolute():
        path = cfg.config_file.parent / path
    return path


def external_parts(external: dict[str, Any], active: set[str]) -> tuple[list[Any], list[Any]]:
    """The shipped Slack/PagerDuty receivers whose secret is set, and the routes that use them."""
    receivers = [r for r in external.get("receivers", []) if isinstance(r, dict) and r.get("name") in active]
    names = {r["name"] for r in receivers}
    routes = [r for r in external.get("routes", []) if isinstance(r, dict) and r.get("receiver") in names]
    return receivers, routes


@dataclass(frozen=True)
class _Origin:
    """Where one part of the rendered document came from."""

    source: str
    doc: LocatedYaml | None
    path: tuple[Any, ...]

    def where(self) -> str:
        line = self.doc.line_of(self.path) if self.doc else None
        return f"{self.source}:{line}" if line else self.source


class SourceMap:
    """Rendered path -> (user's file, path in it), following how configs.py assembles the document."""

    def __init__(self, cfg: Config) -> None:
        self.base = base_path(cfg)
        self.base_doc = _located(self.base)
        self.config_doc = _located(cfg.config_file) if cfg.config_file else None
        self.config_source = str(cfg.config_file) if cfg.config_file else "stackctl.yaml"
        external = asset_path("alertmanager", "external-receivers.yml")
        ext_doc = yaml.safe_load(external.read_text(encoding="utf-8")) if cfg.external_secrets and external.is_file() else {}
        self.ext_receivers, self.ext_routes = (len(x) for x in external_parts(ext_doc or {}, set(cfg.external_secrets)))
        self.external = str(external)
        base = self.base_doc.data if self.base_doc and isinstance(self.base_doc.data, dict) else {}
        self.base_receivers = len(base.get("receivers") or []) if isinstance(base.get("receivers"), list) else 0
        section = cfg.alertmanager
        self.user_routes = len(section.routes) if section else 0

    def origin(self, path: tuple[Any, ...]) -> _Origin:
        if len(path) >= 2 and path[0] == "receivers" and isinstance(path[1], int):
            i = path[1] - self.base_receivers
            if i < 0:
                return _Origin(str(self.base), self.base_doc, path)
            if i < self.ext_receivers:
                return _Origin(self.external, None, ())
            return _Origin(self.config_source, self.config_doc, ("alertmanager", "receivers", i - self.ext_receivers, *path[2:]))
        if len(path) >= 3 and path[:2] == ("route", "routes") and isinstance(path[2], int):
            j = path[2]
            if j < self.user_routes:
                return _Origin(self.config_source, self.config_doc, ("alertmanager", "routes", j, *path[3:]))
            if j < self.user_routes + self.ext_routes:
                return _Origin(self.external, None, ())
            return _Origin(str(self.base), self.base_doc, ("route", "routes", j - self.user_routes - self.ext_routes, *path[3:]))
        return _Origin(str(self.base), self.base_doc, path)


def _located(path: Path | None) -> LocatedYaml | None:
    try:
        return parse_yaml(path.read_text(encoding="utf-8"), str(path)) if path else None
    except (OSError, UnicodeDecodeError, ConfigError):
        return None


def check_alertmanager(cfg: Config, runtime: str, text: bytes, *, amtool: str | None = None, timeout: float = 60,
                       templates_dir: Path | None = None) -> str | None:
    """None when amtool accepts ``text`` (or a warning when no amtool could run); raises
    ConfigError naming the user's file and line when it rejects it. With ``templates_dir``
    (the user's config folder), the ``templates:`` globs are resolved there, as Alertmanager
    resolves them against its config file, and their files checked too."""
    with tempfile.TemporaryDirectory(prefix="stackctl-amcheck-") as tmp:
        config = Path(tmp) / "alertmanager.yml"
        names: dict[str, Path] = {}
        if templates_dir is not None:
            text, names = _stage_templates(text, templates_dir, Path(tmp))
        config.write_bytes(text)  # the directory is 0700: an inline secret stays private
        config.chmod(0o600)
        verdict = None
        if runtime == "docker" and amtool is None:
            verdict = _run_in_image(cfg.images.get("alertmanager", ""), config, timeout)
        if verdict is None:
            found = amtool or shutil.which("amtool")
            if not found:
                return ("Alertmanager config not validated: amtool is not on PATH (apt-get install prometheus-alertmanager); "
                        "a config Alertmanager rejects will stop it from starting")
            try:
                verdict = run([found, "check-config", str(config)], timeout=timeout, check=False)
            except ProcessError as exc:
                return f"Alertmanager config not validated: {exc.message}"
        code, output = verdict.returncode, verdict.stdout + "\n" + verdict.stderr
        if code != 0 and _NEWER_RE.search(output):
            checker = (f"the amtool of {cfg.images.get('alertmanager', '')}" if runtime == "docker" and amtool is None and _from_image(verdict)
                       else _version(amtool or shutil.which("amtool") or "amtool"))
            output = _NEWER_RE.sub(lambda m: _newer(m, checker), output)
    if code != 0:
        raise rejected(cfg, text.decode(errors="replace"), output, names)
    return None


# Keys newer Alertmanagers read and older ones refuse (`field msteams_configs not found`):
# the native runtime runs the Alertmanager on PATH (Debian bookworm: 0.25), docker the image's.
NEWER_KEYS = {"webex_configs": "0.25", "discord_configs": "0.25", "msteams_configs": "0.26", "msteamsv2_configs": "0.28",
              "jira_configs": "0.28", "rocketchat_configs": "0.28", "tracing": "0.28"}
_NEWER_RE = re.compile(r"field (" + "|".join(NEWER_KEYS) + r") not found in type [\w.]+")


def _newer(match: re.Match[str], checker: str) -> str:
    key = match.group(1)
    fix = ("set `images: {alertmanager: ...}` to a newer one" if checker.startswith("the amtool of ")
           else "run the docker runtime, whose image is newer")
    return f"{match.group(0)} (`{key}` needs Alertmanager {NEWER_KEYS[key]} or later; {checker} is older: {fix}, or leave the key out)"


def _from_image(verdict: Any) -> bool:
    return bool(getattr(verdict, "args", None)) and "docker" in str(verdict.args[0])


def _version(amtool: str) -> str:
    try:
        out = run([amtool, "--version"], timeout=10, check=False)
    except ProcessError:
        return "the amtool on PATH"
    found = re.search(r"version (\S+)", out.stdout + out.stderr)
    return f"amtool {found.group(1)} (on PATH, as the native runtime's Alertmanager)" if found else "the amtool on PATH"


def _stage_templates(text: bytes, templates_dir: Path, tmp: Path) -> tuple[bytes, dict[str, Path]]:
    """Copy the files the ``templates:`` globs match into ``tmp`` (beside the checked config,
    also when amtool runs in a container) and point the globs there; -> text, file name -> file."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return text, {}
    patterns = doc.get("templates") if isinstance(doc, dict) else None
    if not isinstance(patterns, list):
        return text, {}
    names: dict[str, Path] = {}
    staged: list[Any] = []
    for i, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            staged.append(pattern)
            continue
        full = Path(pattern) if Path(pattern).is_absolute() else templates_dir / pattern
        folder = tmp / f"templates-{i}"
        folder.mkdir()
        for match in sorted(glob.glob(str(full))):
            if Path(match).is_file():
                shutil.copyfile(match, folder / Path(match).name)
                names.setdefault(Path(match).name, Path(match))
        staged.append(f"{folder.name}/{Path(pattern).name}")
    doc["templates"] = staged
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).encode(), names


def _run_in_image(image: str, config: Path, timeout: float) -> Any:
    if not image or shutil.which("docker") is None:
        return None
    # As the user who owns the 0600 file (the image's own user, nobody, could not read it);
    # no network, never a pull: the image is the one `up` already has.
    cmd = Command(["docker", "run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "amtool"])
    cmd.add_simple_arg("--user", f"{os.getuid()}:{os.getgid()}")
    cmd.add_simple_arg("-v", f"{config.parent}:{_INSIDE.rsplit('/', 1)[0]}:ro")  # the staged templates too
    cmd += [image, "check-config", _INSIDE]
    try:
        result = run(list(cmd), timeout=timeout, check=False)
    except ProcessError:
        return None
    if result.returncode in _DOCKER_OWN_FAILURES or f"open {_INSIDE}:" in result.stdout + result.stderr:
        return None  # docker could not run it, or amtool could not read the file: no verdict on the config
    return result


def explanation(output: str) -> list[str]:
    """amtool's reason, every line of it, without its own framing."""
    text = output.split("FAILED:", 1)[1] if "FAILED:" in output else output
    lines = [ln.strip() for ln in text.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("amtool: error:") and not ln.startswith("Checking ")]


def rejected(cfg: Config, rendered: str, output: str, templates: dict[str, Path] | None = None) -> ConfigError:
    smap = SourceMap(cfg)
    doc = parse_yaml(rendered, "rendered alertmanager.yml")
    by_line = paths_by_line(doc)
    problems: list[str] = []
    for reason in explanation(output):
        if reason.endswith(":") and not _LINE_RE.search(reason):  # a heading such as "yaml: unmarshal errors:"
            problems.append(reason)
            continue
        template = _TEMPLATE_RE.match(reason)
        if template and template.group(1) in (templates or {}):
            problems.append(f"{(templates or {})[template.group(1)]}:{template.group(2)}: {template.group(3)}")
            continue
        line = _LINE_RE.search(reason)
        if line and int(line.group(1)) in by_line:
            origin = smap.origin(by_line[int(line.group(1))])
            problems.append(f"{origin.where()}: {_LINE_RE.sub('', reason, count=1).strip()}")
            continue
        places = [smap.origin(p).where() for p in paths_with_value(doc.data, _QUOTED_RE.findall(reason))
                  if not reason.startswith("notification config name") or p[:1] == ("receivers",)]
        places = places or [smap.origin(p).where() for p in _integration_paths(doc.data, reason) + _other_paths(doc.data, reason)]
        problems.append(f"{', '.join(dict.fromkeys(places)) or smap.base}: {reason}")
    return ConfigError(
        "Alertmanager would reject its configuration (amtool check-config):\n  " + "\n  ".join(problems or [output.strip()]),
        hint="fix the file and line named above and run `stackctl up` again; nothing was started, and a running "
             "Alertmanager keeps its last good configuration",
    )


def paths_by_line(doc: LocatedYaml) -> dict[int, tuple[Any, ...]]:
    """Each line of the rendered file -> the deepest path that starts on it."""
    out: dict[int, tuple[Any, ...]] = {}
    for path, line in doc.lines.items():
        if line not in out or len(path) > len(out[line]):
            out[line] = path
    return out


def paths_with_value(data: Any, values: list[str], path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of scalars equal to one of ``values`` (the names an amtool or promtool message quotes)."""
    if not values:
        return []
    found: list[tuple[Any, ...]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths_with_value(value, values, path + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths_with_value(value, values, path + (index,))
    elif isinstance(data, (str, int, float)) and not isinstance(data, bool) and str(data) in values:
        found.append(path)  # a number too: promtool quotes `scrape_interval: 5` as "5"
    return found


# An integration's own words in amtool's messages -> its key: "no global Slack API URL set",
# "no global SMTP smarthost set", "one of bot_token or bot_token_file must be configured"...
_INTEGRATION_WORDS = {"slack": "slack_configs", "opsgenie": "opsgenie_configs", "smtp": "email_configs",
                      "email": "email_configs", "wechat": "wechat_configs", "victorops": "victorops_configs",
                      "webex": "webex_configs", "telegram": "telegram_configs", "bot_token": "telegram_configs",
                      "pushover": "pushover_configs", "sns": "sns_configs", "discord": "discord_configs",
                      "msteams": "msteams_configs", "pagerduty": "pagerduty_configs", "routing_key": "pagerduty_configs",
                      "webhook": "webhook_configs", "jira": "jira_configs", "rocketchat": "rocketchat_configs"}


def _integration_paths(data: Any, reason: str) -> list[tuple[Any, ...]]:
    """The receivers' ``<kind>_configs`` entries an unplaced message is about (at most 3)."""
    words = set(re.findall(r"[a-z_]+", reason.lower()))
    kinds = {key for word, key in _INTEGRATION_WORDS.items() if word in words}
    receivers = data.get("receivers") if isinstance(data, dict) else None
    found = [("receivers", i, kind) for i, rec in enumerate(receivers or []) if isinstance(rec, dict)
             for kind in sorted(kinds) if rec.get(kind)]
    return found[:3]


def _other_paths(data: Any, reason: str) -> list[tuple[Any, ...]]:
    """Where amtool's unplaced messages point: the root route; a bad regex (amtool quotes it
    anchored, ``^(?:(critical)$``) at the matcher that holds it."""
    if reason.startswith("root route") and isinstance(data, dict) and "route" in data:
        return [("route",)]
    regex = re.search(r"`\^\(\?:(.*)\)\$`", reason)
    if regex:
        return _paths_containing(data, regex.group(1))[:3]
    return []


def _paths_containing(data: Any, text: str, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _paths_containing(v, text, path + (k,))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _paths_containing(v, text, path + (i,))]
    return [path] if isinstance(data, str) and text in data else []
