"""Renders the effective configuration into ``<state_dir>/rendered``.

Both runtimes read the rendered tree: the docker runtime mounts its folders read-only, the
native runtime points its processes at them. The tree is built from the shipped assets plus
the user's additions (packs chosen, scrape targets, rules, dashboards, Alertmanager routes);
for the native runtime, service hostnames and container paths are rewritten too.

Files are synced in place (write-if-changed, delete stale) rather than swapping the folder,
so a running container's directory mounts see the new files on reload.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from stackctl.assets import asset_path
from stackctl.config import Config
from stackctl.dashboards import files as dash
from stackctl.errors import ConfigError
from stackctl.render import alertmanager_doc
from stackctl.render.definition import container_path_map, rendered_root
from stackctl.render.preflight import preflight
from stackctl.render.prometheus_user import Merged, merge_user_prometheus
from stackctl.render.rulefiles import unwrapped
from stackctl.render.user_provisioning import UserProvisioning, merge_datasources, user_provisioning
from stackctl.services import SERVICES, with_internal
from stackctl.state.dirs import ensure_dir, write_atomic

TEXT_SUFFIXES = {".yml", ".yaml", ".json"}


@dataclass(frozen=True)
class RenderedTree:
    root: Path
    files: tuple[Path, ...]
    warnings: tuple[str, ...] = ()  # what the preflight found that Grafana/Alertmanager tolerate


def connect_host(cfg: Config) -> str:
    return "127.0.0.1" if cfg.bind in ("0.0.0.0", "::") else cfg.bind


def render(cfg: Config, runtime: str, *, check: bool = True) -> RenderedTree:
    """Build every config file into memory, check it (``check``), then sync the rendered folder to it.

    The check runs before anything is written: a config Grafana or Alertmanager would reject
    raises ConfigError and the last good rendered tree stays as it was.
    """
    modes: dict[str, int] = {}
    origins: dict[str, Path] = {}
    merged: list[Merged] = []
    files = build_files(cfg, runtime, modes=modes, origins=origins, merged=merged)
    warnings = preflight(cfg, runtime, files, origins, merged[0] if merged else None) if check else []
    root = rendered_root(cfg)
    written = _sync(root, files, modes)
    return RenderedTree(root, tuple(written), tuple(warnings))


def build_files(cfg: Config, runtime: str, *, modes: dict[str, int] | None = None,
                origins: dict[str, Path] | None = None, merged: list[Merged] | None = None) -> dict[str, bytes | Path]:
    """Every rendered file in memory: path relative to the rendered root -> bytes, or the asset to copy.

    ``runtime`` is docker or native; any other name (the Kubernetes export passes "kubernetes")
    gives the runtime-neutral copy: container paths and hostnames as written, no secret files.
    ``modes`` receives the files whose mode must follow the user's file; ``origins`` the source
    file of each copied asset (for messages that name the file as the user wrote it).
    """
    files: dict[str, bytes | Path] = {}
    modes = {} if modes is None else modes
    user = _prometheus(cfg, runtime, files, modes)
    if merged is not None:
        merged.append(user)
    _alertmanager(cfg, files, runtime)
    _grafana(cfg, files, modes)
    files["loki/loki.yml"] = asset_path("loki", "loki.yml")
    _copy_dir(asset_path("alertmanager", "sink"), "alertmanager/sink", files)
    if origins is not None:
        origins.update({rel: content for rel, content in files.items() if isinstance(content, Path)})
    if runtime == "native":
        rewrite = native_rewriter(cfg)
        # Dashboards are content, not config: "/data" in a panel title must stay as it is.
        files = {rel: content if rel.startswith("grafana/dashboards/") else _rewrite_file(rel, content, rewrite)
                 for rel, content in files.items()}
    return files


def _copy_dir(src: Path, rel: str, files: dict[str, bytes | Path]) -> None:
    if not src.is_dir():
        return
    for path in sorted(src.rglob("*")):
        if path.is_file():
            files[f"{rel}/{path.relative_to(src).as_posix()}"] = path


def _dump(data: Any) -> bytes:
    return ("# Rendered by stackctl from the shipped assets; edits here are overwritten.\n"
            + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)).encode()


def _prometheus(cfg: Config, runtime: str, files: dict[str, bytes | Path], modes: dict[str, int]) -> Merged:
    doc = yaml.safe_load(asset_path("prometheus", "prometheus.yml").read_text(encoding="utf-8"))
    enabled = set(with_internal(cfg.services))
    doc["scrape_configs"] = [s for s in doc.get("scrape_configs", []) if s.get("job_name") not in SERVICES or s["job_name"] in enabled]
    if "alertmanager" not in enabled:
        doc.pop("alerting", None)
    # The user's prometheus.yml: its jobs after the stack's, before stackctl.yaml's `scrape:`
    user = merge_user_prometheus(cfg, runtime, doc)
    for rel, path in user.files.items():
        files[rel] = path
        modes[rel] = 0o644 & (path.stat().st_mode | 0o600)  # a 0600 password file stays 0600
    for target in cfg.scrape:
        doc["scrape_configs"].append(scrape_config(target, runtime))
    files["prometheus/prometheus.yml"] = _dump(doc)
    if cfg.prometheus_config is not None and runtime == "native":
        # An inline password of the user's file is never more readable than there. (The docker
        # runtime's Prometheus runs as the image's user, which must read it: it stays 0644.)
        modes["prometheus/prometheus.yml"] = 0o644 & (cfg.prometheus_config.stat().st_mode | 0o600)
    for rel, path in _rule_files(cfg).items():
        files[f"prometheus/rules/{rel}"] = unwrapped(path) or path  # a PrometheusRule resource: its spec.groups
    return user


def scrape_config(target: Any, runtime: str) -> dict[str, Any]:
    """A user's ``localhost:8000`` becomes host.docker.internal (docker) or 127.0.0.1 (native)."""
    host, _, port = target.target.rpartition(":")
    if host in ("localhost", "127.0.0.1", "::1", "[::1]"):
        host = "host.docker.internal" if runtime == "docker" else "127.0.0.1"
    job = target.job or f"app-{target.target.replace(':', '-')}"
    static: dict[str, Any] = {"targets": [f"{host}:{port}"]}
    if target.labels:
        static["labels"] = dict(target.labels)
    return {"job_name": job, "metrics_path": target.path, "scrape_interval": target.interval, "static_configs": [static]}


def _rule_files(cfg: Config) -> dict[str, Path]:
    rules_dir = asset_path("prometheus", "rules")
    if cfg.packs is None:
        chosen = {p.name: p for p in sorted(rules_dir.glob("*.yml"))}
    else:
        from stackctl.packs import get_pack

        chosen = {}
        for name in cfg.packs:
            path = rules_dir / get_pack(name).rule_file.removeprefix("rules/")
            chosen[path.name] = path
    origin: dict[str, Path] = {}
    for user_path in cfg.rules:
        sources = sorted(p for p in user_path.rglob("*") if p.suffix in (".yml", ".yaml")) if user_path.is_dir() else [user_path]
        for path in sources:
            # always .yml: Prometheus loads rules/*.yml
            name = f"user-{path.stem}.yml"
            if origin.get(name, path) != path:
                # Two files of one name in different folders (alerts/node.yml, recording/node.yml):
                # Prometheus loads both, so the stack does too, the second told apart by its path.
                name = f"user-{path.stem}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}.yml"
            origin[name] = path
            chosen[name] = path
    return chosen


def _alertmanager(cfg: Config, files: dict[str, bytes | Path], runtime: str) -> None:
    doc = alertmanager_doc.local(cfg) if runtime in alertmanager_doc.LOCAL_RUNTIMES else alertmanager_doc.as_written(cfg)
    if cfg.external_secrets and runtime == "native":
        # Alertmanager reads secrets from files (api_url_file / routing_key_file): mode 0600,
        # owned by the user running it. The docker runtime injects them as compose secrets
        # from the environment instead, so no copy ever lands on the host's disk.
        for name, value in dict(cfg.external_secrets).items():
            files[f"alertmanager/secrets/{secret_file(name)}"] = value.encode()
    text = _dump(doc)
    if runtime == "docker":
        # compose secrets are copied into /run/secrets (the config folder is mounted read-only)
        text = text.replace(b"/etc/alertmanager/secrets/", b"/run/secrets/")
    files["alertmanager/alertmanager.yml"] = text


def secret_file(name: str) -> str:
    return {"slack": "slack_webhook_url", "pagerduty": "pagerduty_routing_key"}[name]


def _grafana(cfg: Config, files: dict[str, bytes | Path], modes: dict[str, int]) -> None:
    _copy_dir(asset_path("grafana", "provisioning"), "grafana/provisioning", files)
    dash_root = asset_path("grafana", "dashboards")
    if cfg.packs is None:
        pack_dirs = sorted(p for p in dash_root.iterdir() if p.is_dir()) if dash_root.is_dir() else []
    else:
        from stackctl.packs import get_pack

        pack_dirs = [dash_root / get_pack(n).dashboards_dir for n in cfg.packs]
    for folder in pack_dirs:
        _copy_dir(folder, f"grafana/dashboards/{folder.name}", files)
    user_dirs: list[str] = []
    origin_of: dict[str, Path] = {}
    for folder in cfg.dashboards:
        name = dash.user_folder(folder)  # a single file gets a folder named after it
        if name in user_dirs:
            raise ConfigError(f"two dashboards entries are both named {name.removeprefix('user-')!r} ({folder})",
                              hint="each folder becomes one Grafana folder named after it: rename one")
        user_dirs.append(name)
        for path in dash.dashboard_paths(folder):
            rel = f"grafana/dashboards/{name}/{path.name}"
            origin_of[rel] = path
            files[rel] = path  # prepared below, once the user's datasources are known
            # Never wider than the user's own file: a 0600 dashboard stays 0600 when rendered.
            modes[rel] = 0o644 & (path.stat().st_mode | 0o600)
    user = user_provisioning(cfg)
    known = user.known() if user else {}
    for rel in [r for r in files if r.startswith("grafana/dashboards/user-")]:
        files[rel] = dash.prepare_user_dashboard(origin_of[rel], known)
    providers = asset_path("grafana", "provisioning", "dashboards", "packs.yml")
    if providers.is_file():
        files["grafana/provisioning/dashboards/packs.yml"] = _providers(providers, {p.name for p in pack_dirs}, user_dirs)
    if user is not None:
        _user_provisioning(cfg, user, files, modes)


def _user_provisioning(cfg: Config, user: UserProvisioning, files: dict[str, bytes | Path], modes: dict[str, int]) -> None:
    """The user's datasources into the stack's file, their providers' folders as rendered folders."""
    rel = "grafana/provisioning/datasources/datasources.yml"
    content = files[rel]
    stack = yaml.safe_load(content.read_text(encoding="utf-8") if isinstance(content, Path) else content.decode()) or {}
    files[rel] = _dump(merge_datasources(stack, user))
    # A datasource provisioned as written may hold a password: never wider than the user's files.
    modes[rel] = 0o644 & min((p.stat().st_mode | 0o600 for p in _user_files(cfg)), default=0o644)
    known = user.known()
    for folder in user.folders:
        for path, sub in folder.files():
            files[f"grafana/dashboards/{folder.name}/{sub}"] = dash.prepare_user_dashboard(path, known)
            modes[f"grafana/dashboards/{folder.name}/{sub}"] = 0o644 & (path.stat().st_mode | 0o600)
    packs = files.get("grafana/provisioning/dashboards/packs.yml")
    doc: dict[str, Any] = yaml.safe_load(packs.decode()) if isinstance(packs, bytes) else {"apiVersion": 1, "providers": []}
    doc["providers"] = [*(doc.get("providers") or []), *(f.provider for f in user.folders)]
    files["grafana/provisioning/dashboards/packs.yml"] = _dump(doc)


def _user_files(cfg: Config) -> list[Path]:
    root = cfg.grafana_provisioning
    if root is None:
        return []
    return [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml")]


def _folder_uid(name: str) -> str:
    """A Grafana uid for a user folder: 1-40 of [A-Za-z0-9_-], whatever the folder is called."""
    uid = "stackctl-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name)
    if len(uid) <= 40:
        return uid
    # Cut, but two long names sharing a prefix must not collide: end with a digest of the whole.
    return uid[:31] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def _providers(path: Path, pack_dirs: set[str], user_dirs: list[str]) -> bytes:
    """Keep the providers of the packs that load, and give each user folder its own."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    kept = [p for p in doc.get("providers", []) if Path(p["options"]["path"]).name in pack_dirs]
    for name in user_dirs:
        kept.append({
            "name": name, "orgId": 1, "type": "file", "folder": name.removeprefix("user-"),
            "folderUid": _folder_uid(name), "disableDeletion": False, "allowUiUpdates": True,
            "updateIntervalSeconds": 10, "options": {"path": f"/var/lib/grafana/dashboards/{name}"},
        })
    doc["providers"] = kept
    return _dump(doc)


def native_rewriter(cfg: Config) -> Callable[[str], str]:
    """Rewrite ``<service>:<container port>`` to the host address, and container paths to host paths."""

    host = connect_host(cfg)
    hosts = [(re.compile(rf"(?<![\w.-]){re.escape(name)}:{spec.container_port}\b"), f"{host}:{cfg.port(name)}")
             for name, spec in SERVICES.items()]
    paths = path_rewriter(container_path_map(cfg))

    def rewrite(text: str) -> str:
        for pattern, repl in hosts:
            text = pattern.sub(repl, text)
        return paths(text)

    return rewrite


def path_rewriter(mapping: Mapping[str, Path]) -> Callable[[str], str]:
    """Replace whole container paths (never a substring of a longer path), longest first."""
    ordered = sorted(mapping.items(), key=lambda kv: -len(kv[0]))
    patterns = [(re.compile(rf"(?<![\w.-]){re.escape(target)}(?=$|[/\s\"',:;\]}}]|\*)"), str(host)) for target, host in ordered]

    def rewrite(text: str) -> str:
        for pattern, repl in patterns:
            # a function, not a template: Windows-style or odd paths never act as backreferences
            text = pattern.sub(_literal(repl), text)
        return text

    return rewrite


def _literal(value: str) -> Callable[[re.Match[str]], str]:
    return lambda _m: value


def _rewrite_file(rel: str, content: bytes | Path, rewrite: Callable[[str], str]) -> bytes | Path:
    if Path(rel).suffix not in TEXT_SUFFIXES:
        return content
    text = content.read_text(encoding="utf-8") if isinstance(content, Path) else content.decode()
    # Rewrite values, never the text: a path holding '#', ': ' or quotes stays one string value
    # and can never inject a key (config injection through state_dir).
    if Path(rel).suffix == ".json":
        return (json.dumps(_rewrite_values(json.loads(text), rewrite), indent=2) + "\n").encode()
    docs = [_rewrite_values(doc, rewrite) for doc in yaml.safe_load_all(text)]
    return _dump(docs[0]) if len(docs) == 1 else yaml.safe_dump_all(docs, sort_keys=False).encode()


def _rewrite_values(node: Any, rewrite: Callable[[str], str]) -> Any:
    if isinstance(node, dict):
        return {(rewrite(k) if isinstance(k, str) else k): _rewrite_values(v, rewrite) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_values(v, rewrite) for v in node]
    return rewrite(node) if isinstance(node, str) else node


def _sync(root: Path, files: dict[str, bytes | Path], modes: Mapping[str, int]) -> list[Path]:
    """Write ``files`` under ``root`` (``modes``: where a file's mode must follow the user's)."""
    ensure_dir(root)
    wanted = set()
    for rel, content in sorted(files.items()):
        dest = root / rel
        wanted.add(dest)
        data = content.read_bytes() if isinstance(content, Path) else content
        secret = rel.startswith("alertmanager/secrets/")
        mode = 0o600 if secret else (0o755 if isinstance(content, Path) and os.access(content, os.X_OK) else 0o644)
        mode = modes.get(rel, mode)
        if not dest.is_file() or dest.read_bytes() != data or (dest.stat().st_mode & 0o777) != mode:
            write_atomic(dest, data, mode)
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return sorted(wanted)
