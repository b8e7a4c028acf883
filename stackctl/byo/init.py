"""``stackctl init``: write a commented stackctl.yaml for the repo it runs in.

It detects the obvious: the app's /metrics endpoint given with ``--scrape`` (probed on
127.0.0.1 only, with a short timeout), and the dashboard and rule folders the repo already
keeps (infra/observability/grafana/dashboards, monitoring/prometheus/alerts.yml, ...). Paths
are written relative to the file, the way load_config resolves them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import requests
import yaml
from pydantic import ValidationError

from stackctl.config import CONFIG_FILENAME, FileModel, ScrapeTarget
from stackctl.errors import ConfigError, UsageError
from stackctl.state.dirs import write_atomic
from stackctl.yamlfile import parse_yaml, validate

MAX_DEPTH = 6  # deep enough for infra/observability/grafana/dashboards/<team>, cheap on big repos
SKIP_DIRS = {"node_modules", "venv", "vendor", "site-packages", "dist", "build", "target", "__pycache__"}
RULE_FILE_NAMES = {"alerts.yml", "alerts.yaml", "alert_rules.yml", "alert_rules.yaml", "rules.yml", "rules.yaml", "recording_rules.yml"}
RULE_FILE_SUFFIXES = (".rules.yml", ".rules.yaml", "_rules.yml", "_rules.yaml")
LOCAL_HOSTS = {"localhost", "127.0.0.1"}
PROBE_TIMEOUT = 1.0


@dataclass(frozen=True)
class ScrapeGuess:
    target: str
    job: str
    path: str
    probe: str  # what the probe found, written as a comment


@dataclass(frozen=True)
class Detected:
    scrape: tuple[ScrapeGuess, ...] = ()
    dashboards: tuple[str, ...] = ()  # relative to the config file's folder
    rules: tuple[str, ...] = ()
    prometheus: str | None = None  # the repo's own prometheus.yml


@dataclass(frozen=True)
class InitResult:
    path: Path
    detected: Detected


def init_config(directory: Path, scrape: Sequence[str] = (), *, force: bool = False, probe: bool = True) -> InitResult:
    """Detect, render and write ``<directory>/stackctl.yaml``; refuse to overwrite unless ``force``."""
    directory = directory.resolve()
    if not directory.is_dir():
        raise UsageError(f"--dir {directory} is not a directory")
    path = directory / CONFIG_FILENAME
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; not overwriting it",
                         hint="edit it, or run `stackctl init --force` to replace it with a freshly detected one")
    detected = Detected(
        scrape=tuple(guess_scrape(value, directory.name, len(scrape), probe) for value in scrape),
        dashboards=tuple(find_dashboard_dirs(directory)),
        rules=tuple(find_rule_paths(directory)),
        prometheus=find_prometheus_config(directory),
    )
    text = render_config(detected, project=_job_name(directory.name))
    _ensure_valid(text, path)
    write_atomic(path, text, 0o644)
    return InitResult(path, detected)


# -- scrape targets ------------------------------------------------------------------------

def parse_target(value: str) -> ScrapeTarget:
    """The same host:port check stackctl.yaml gets, as a usage error on the flag."""
    try:
        return ScrapeTarget(target=value.strip())
    except ValidationError:
        raise UsageError(f"--scrape {value!r} is not host:port", hint="e.g. --scrape localhost:8000 (the port your app serves /metrics on)") from None


def guess_scrape(value: str, repo_name: str, count: int, probe: bool) -> ScrapeGuess:
    target = parse_target(value)
    host, _, port = target.target.rpartition(":")
    job = _job_name(repo_name) if count == 1 else f"{_job_name(repo_name)}-{port}"
    return ScrapeGuess(target.target, job, target.path, probe_metrics(host, int(port)) if probe else "not probed")


def probe_metrics(host: str, port: int, path: str = "/metrics") -> str:
    """Whether ``http://127.0.0.1:<port>/metrics`` answers now. Only ever loopback: init must
    not send traffic to another machine just to write a comment."""
    if host not in LOCAL_HOSTS:
        return f"not probed ({host} is not this machine's loopback)"
    url = f"http://127.0.0.1:{port}{path}"
    try:
        response = requests.get(url, timeout=PROBE_TIMEOUT)
    except requests.RequestException as exc:
        return f"{url} did not answer when `stackctl init` ran ({type(exc).__name__}); start your app before `stackctl up`"
    if response.status_code != 200:
        return f"{url} answered HTTP {response.status_code} when `stackctl init` ran; set `path:` if metrics live elsewhere"
    samples = sum(1 for line in response.text.splitlines() if line and not line.startswith("#"))
    return f"{url} answered with {samples} samples when `stackctl init` ran"


def _job_name(repo_name: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9_-]+", "-", repo_name).strip("-").lower()
    return name or "app"


# -- dashboards and rules ------------------------------------------------------------------

def _walk(root: Path) -> Iterator[Path]:
    """Folders under ``root`` up to MAX_DEPTH, skipping hidden and dependency folders."""
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        yield folder
        if depth >= MAX_DEPTH:
            continue
        try:
            children = sorted((p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True)
        except OSError:
            continue
        stack += [(c, depth + 1) for c in children if not c.name.startswith(".") and c.name not in SKIP_DIRS]


def find_dashboard_dirs(root: Path) -> list[str]:
    """Folders named ``dashboards`` holding Grafana JSON. A ``dashboards`` folder whose JSON sits
    in per-team subfolders yields each subfolder: stackctl makes one Grafana folder per entry."""
    found: list[str] = []
    for folder in _walk(root):
        if folder.name != "dashboards" or folder == root:
            continue
        if any(folder.glob("*.json")):
            found.append(_rel(folder, root))
        else:
            found += [_rel(sub, root) for sub in sorted(folder.iterdir()) if sub.is_dir() and any(sub.rglob("*.json"))]
    return sorted(set(found))


def find_rule_paths(root: Path) -> list[str]:
    """``prometheus/rules/`` folders and rule files by their usual names, kept only when they
    parse as Prometheus rule files (a top-level ``groups:``), so a CI ``alerts.yml`` is left out."""
    found: list[str] = []
    for folder in _walk(root):
        if folder.name == "rules" and folder.parent.name == "prometheus" and _rule_files_in(folder):
            found.append(_rel(folder, root))
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and _looks_like_rule_name(path.name) and _is_rule_file(path):
                found.append(_rel(path, root))
    # a file inside a folder already listed would be loaded twice
    dirs = [p for p in found if (root / p).is_dir()]
    return sorted(p for p in set(found) if p in dirs or not any(p.startswith(d + "/") for d in dirs))


PROMETHEUS_NAMES = ("prometheus.yml", "prometheus.yaml")


def find_prometheus_config(root: Path) -> str | None:
    """The repo's own prometheus.yml (the shallowest), kept only when it reads as one: a
    mapping with scrape_configs or global, so a compose file or a Helm values file is left out."""
    for folder in sorted(_walk(root), key=lambda p: (len(p.parts), str(p))):
        for name in PROMETHEUS_NAMES:
            path = folder / name
            if path.is_file() and _is_prometheus_config(path):
                return _rel(path, root)
    return None


def _is_prometheus_config(path: Path) -> bool:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and ("scrape_configs" in doc or "global" in doc) and "services" not in doc


def _rule_files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and _is_rule_file(p)]


def _looks_like_rule_name(name: str) -> bool:
    return name in RULE_FILE_NAMES or name.endswith(RULE_FILE_SUFFIXES)


def _is_rule_file(path: Path) -> bool:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("groups"), list)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


# -- the file ------------------------------------------------------------------------------

HEADER = """\
# stackctl.yaml: the local observability stack for this repo (written by `stackctl init`).
# `stackctl up` reads it from this folder (or --config / STACKCTL_CONFIG). Paths are relative
# to this file. Edit and run `stackctl up` again: no `down` needed, Prometheus and
# Alertmanager reload and Grafana re-reads its provisioning.
# Every key is optional; see `stackctl config` for the effective values and their sources.

# project: the stack's name (compose project, state folder); the default is "stackctl".
# A name per repo keeps this repo's stack apart from others (give it other ports too).
# project: {project}

# runtime: docker, native or auto (docker when an engine answers, else native processes).
# runtime: auto
"""

SCRAPE_DOC = """
# scrape: your app's metrics endpoints, scraped by Prometheus every `interval`.
# Write `localhost:PORT` on either runtime. On docker, Prometheus runs in a container and
# reaches your machine as host.docker.internal, so your app must listen on 0.0.0.0 (or the
# docker0 address, e.g. 172.17.0.1), not only on 127.0.0.1. On native, 127.0.0.1 is enough.
# `stackctl targets` shows whether each target is up and why not.
"""

DASHBOARDS_DOC = """
# dashboards: folders (or single files) of Grafana dashboard JSON, provisioned beside the
# built-in packs, one Grafana folder each (named after the folder). Dashboards exported
# "for sharing" (with ${DS_PROMETHEUS}-style inputs) are mapped to the stack's datasources.
"""

RULES_DOC = """
# rules: Prometheus rule files or folders of them (*.yml, *.yaml), checked with
# `promtool check rules` before the stack starts.
"""

PROMETHEUS_DOC = """
# prometheus: `config:` your own prometheus.yml. Its scrape_configs are scraped and its
# rule_files loaded next to the stack's own; alerting goes to the stack's Alertmanager and
# remote_write is dropped (docs/prometheus-config.md).
"""

FOOTER = """
# packs: the built-in packs to load (rules + dashboards); default all, [] for none.
# `stackctl packs` lists them.
# packs: []

# alertmanager: extra receivers and routes merged into the built-in config, or `config:` a
# whole alertmanager.yml of yours replacing it.
# alertmanager:
#   receivers:
#     - name: my-webhook
#       webhook_configs: [{{url: "http://host.docker.internal:5001/alerts"}}]
#   routes:
#     - receiver: my-webhook
#       matchers: ['team="backend"']
"""


def render_config(detected: Detected, project: str = "my-app") -> str:
    """The commented YAML; every detected value is live, examples stay commented."""
    parts = [HEADER.format(project=project), SCRAPE_DOC, _scrape_block(detected.scrape),
             DASHBOARDS_DOC, _list_block("dashboards", detected.dashboards, "grafana/dashboards"),
             RULES_DOC, _list_block("rules", detected.rules, "prometheus/alerts.yml"),
             PROMETHEUS_DOC, _prometheus_block(detected.prometheus), FOOTER.format()]
    return "".join(parts)


def _scrape_block(guesses: Sequence[ScrapeGuess]) -> str:
    if not guesses:
        return ("scrape: []\n"
                "# scrape:\n#   - target: localhost:8000\n#     job: my-app\n#     path: /metrics\n"
                "#     interval: 5s\n#     labels: {env: dev}\n")
    lines = ["scrape:"]
    for guess in guesses:
        lines += [f"  - target: {guess.target}", f"    # {guess.probe}",
                  f"    job: {guess.job}  # the `job` label in queries and dashboards",
                  f"    path: {_scalar(guess.path)}", "    interval: 5s", "    # labels: {env: dev}"]
    return "\n".join(lines) + "\n"


def _prometheus_block(found: str | None) -> str:
    if found is None:
        return "# prometheus:\n#   config: monitoring/prometheus.yml\n"
    return f"prometheus:  # found in this repo\n  config: {_scalar(found)}\n"


def _list_block(key: str, items: Sequence[str], example: str) -> str:
    if not items:
        return f"{key}: []  # none found in this repo; e.g. [{example}]\n"
    return f"{key}:  # found in this repo\n" + "".join(f"  - {_scalar(item)}\n" for item in items)


def _scalar(text: str) -> str:
    """Plain when YAML reads it back unchanged, quoted otherwise (spaces, ':', '#', ...)."""
    if re.fullmatch(r"[A-Za-z0-9_./-]+", text) and yaml.safe_load(text) == text:
        return text
    return yaml.safe_dump(text, default_style='"').strip()


def _ensure_valid(text: str, path: Path) -> None:
    """Never write a file stackctl itself would reject (a detected path with odd characters...)."""
    try:
        validate(parse_yaml(text, str(path)), FileModel)
    except ConfigError as exc:
        raise ConfigError(f"`stackctl init` would write an invalid {path.name}: {exc.message}",
                          hint="this is a bug in stackctl init; please report it with your repo layout") from None
