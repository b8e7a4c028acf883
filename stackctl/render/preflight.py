"""Everything the stack's services would reject, found in the rendered files before they are written.

``render`` calls :func:`preflight` with the files it built in memory. Any error raises one
ConfigError naming the user's file and line, before a file of the rendered tree changes and
before anything starts, so the last good tree (and a running stack) stays as it was:

* Grafana: the provisioning files (:mod:`stackctl.render.provisioning_check`) and every
  dashboard it will load, ours and the user's (:mod:`stackctl.dashboards.validate`);
* Alertmanager: ``amtool check-config`` on the rendered config (:mod:`.alertmanager_check`);
* Prometheus: the user's ``scrape:`` entries (label names, intervals, job names), which
  Prometheus would otherwise reject at start, naming its rendered prometheus.yml; with the
  user's own prometheus.yml, ``promtool check config`` on the result (:mod:`.prometheus_check`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from stackctl.config import Config
from stackctl.dashboards.datasources import Datasources
from stackctl.dashboards.files import dashboard_paths, user_folder
from stackctl.dashboards.validate import DashboardFile, Problem, check_files
from stackctl.errors import ConfigError
from stackctl.render import alertmanager_doc
from stackctl.render.alertmanager_check import base_path as alertmanager_base_path
from stackctl.render.alertmanager_check import check_alertmanager
from stackctl.render.definition import container_path_map, rendered_root
from stackctl.render.prometheus_check import check_prometheus
from stackctl.render.prometheus_user import Merged
from stackctl.render.provisioning_check import Findings, check_provisioning
from stackctl.render.user_provisioning import user_provisioning
from stackctl.services import SERVICES
from stackctl.yamlfile import LocatedYaml, read_yaml

# Prometheus' duration grammar (model.ParseDuration) and its classic label-name rule, which
# every supported Prometheus (2.x included) accepts.
_DURATION_RE = re.compile(r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_WARNINGS = 10


def preflight(cfg: Config, runtime: str, files: dict[str, bytes | Path], origins: Mapping[str, Path] | None = None,
              merged: Merged | None = None) -> list[str]:
    """Raise ConfigError for what a service would reject; return what it tolerates, as warnings.

    ``origins``: rendered path -> the shipped file it was made from (the native runtime rewrites
    hosts and paths within lines, so line numbers still hold), to name that file in messages.
    ``merged``: how the user's prometheus.yml went in (its notices are returned in full).
    """
    errors: list[str] = []
    user = user_provisioning(cfg)
    warnings: list[str] = list(user.warnings) if user else []  # grafana.provisioning, as it was merged
    if "grafana" in cfg.services:
        found = check_provisioning(files, _container_dir(cfg), origins or {})
        errors += found.errors
        warnings += found.warnings
        problems = check_files(dashboard_files(cfg, files), Datasources.from_provisioning(found.datasource_docs))
        problems += _folder_uid_clashes(cfg, files, found)
        errors += [str(p) for p in problems if p.severity == "error"]
        warnings += [str(p) for p in problems if p.severity == "warning"]
    scrape_errors, scrape_warnings = check_scrape(cfg, _builtin_jobs(cfg, files))
    errors += scrape_errors
    warnings += scrape_warnings
    if errors:  # a broken dashboard or scrape entry: no need to ask amtool as well
        raise _failed(errors)
    notices = list(merged.notices) if merged else []
    if merged is not None and merged.user is not None and "prometheus" in cfg.services:
        notices += check_prometheus(cfg, runtime, files, merged)
    text = files.get("alertmanager/alertmanager.yml")
    if "alertmanager" in cfg.services and text is not None:
        data = text.read_bytes() if isinstance(text, Path) else text
        # The config as the user wrote it first (its receivers and templates are what a real
        # Alertmanager would refuse), then the local copy the stack runs.
        written = yaml.safe_dump(alertmanager_doc.as_written(cfg), sort_keys=False, default_flow_style=False).encode()
        warning = check_alertmanager(cfg, runtime, written, templates_dir=alertmanager_base_path(cfg).parent)
        if warning is None and written != data:
            warning = check_alertmanager(cfg, runtime, data)
        if warning:
            warnings.append(warning)
    if len(warnings) > MAX_WARNINGS:
        warnings = warnings[:MAX_WARNINGS] + [f"... and {len(warnings) - MAX_WARNINGS} more (`stackctl verify` lists every dashboard warning)"]
    return notices + warnings


def _failed(errors: list[str], limit: int = 15) -> ConfigError:
    shown = errors[:limit] + ([f"... and {len(errors) - limit} more"] if len(errors) > limit else [])
    return ConfigError(
        f"{len(errors)} problem(s) the stack's services would reject:\n  " + "\n  ".join(shown),
        hint="fix each file at the line named and run `stackctl up` again; nothing was started and the rendered "
             "configs were not changed",
    )


def dashboard_files(cfg: Config, files: dict[str, bytes | Path]) -> list[DashboardFile]:
    """The dashboards Grafana will load, as the files the user or stackctl wrote (not the rendered copies)."""
    out = [DashboardFile(content, rel.split("/")[2]) for rel, content in sorted(files.items())
           if rel.startswith("grafana/dashboards/") and rel.endswith(".json") and isinstance(content, Path)]
    for folder in cfg.dashboards:
        for path in dashboard_paths(folder):
            out.append(DashboardFile(path, user_folder(folder)))
    return out + provisioned_dashboard_files(cfg)


def provisioned_dashboard_files(cfg: Config) -> list[DashboardFile]:
    """The dashboards of the user's grafana.provisioning providers, as they wrote them."""
    user = user_provisioning(cfg)
    return [DashboardFile(path, folder.name) for folder in (user.folders if user else []) for path, _ in folder.files()]


def _folder_uid_clashes(cfg: Config, files: dict[str, bytes | Path], found: Findings) -> list[Problem]:
    """Grafana keeps folders and dashboards in one uid space: a dashboard may not take a folder's uid."""
    import json

    clashes: list[Problem] = []
    for item in dashboard_files(cfg, files):
        try:
            uid = json.loads(item.path.read_text(encoding="utf-8")).get("uid")
        except (OSError, ValueError, AttributeError, RecursionError):
            continue
        if isinstance(uid, str) and uid in found.folder_uids:
            clashes.append(Problem("error", str(item.path), None, "dashboard", "uid",
                                   f"uid {uid!r} is the uid of a provisioned folder ({found.folder_uids[uid]}); give the dashboard another"))
    return clashes


def _container_dir(cfg: Config) -> Callable[[str], str | None]:
    """A provider's options.path (container path on docker, host path on native) -> the rendered folder."""
    root = rendered_root(cfg)
    mounts = sorted(container_path_map(cfg).items(), key=lambda kv: -len(kv[0]))

    def resolve(path: str) -> str | None:
        for target, host in mounts:
            if path == target or path.startswith(target.rstrip("/") + "/"):
                path = str(host) + path[len(target):]
                break
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            return None

    return resolve


def _builtin_jobs(cfg: Config, files: dict[str, bytes | Path]) -> tuple[str, ...]:
    """Job names of the rendered prometheus.yml that are not the user's ``scrape:`` entries."""
    import yaml

    content = files.get("prometheus/prometheus.yml")
    if content is None:
        return ()
    doc = yaml.safe_load(content.read_bytes() if isinstance(content, Path) else content) or {}
    jobs = [str(s.get("job_name")) for s in doc.get("scrape_configs") or [] if isinstance(s, dict)]
    return tuple(jobs[: len(jobs) - len(cfg.scrape)])


def check_scrape(cfg: Config, builtin_jobs: tuple[str, ...] = tuple(SERVICES)) -> tuple[list[str], list[str]]:
    """The user's ``scrape:`` entries as Prometheus will judge them, named by stackctl.yaml line."""
    if not cfg.scrape:
        return [], []
    doc = _config_doc(cfg)
    errors: list[str] = []
    warnings: list[str] = []

    def at(path: tuple[Any, ...]) -> str:
        line = doc.line_of(path) if doc else None
        source = str(cfg.config_file) if cfg.config_file else "stackctl.yaml"
        return f"{source}:{line}" if line else source

    jobs = {name: "a job of the stack's prometheus.yml" for name in builtin_jobs}
    for i, target in enumerate(cfg.scrape):
        base = ("scrape", i)
        if not _DURATION_RE.match(target.interval) or not re.search(r"[1-9]", target.interval):
            errors.append(f"{at(base + ('interval',))}: scrape[{i}].interval: {target.interval!r} is not a Prometheus duration "
                          "(a whole number with a unit: 5s, 1m, 500ms)")
        for name in target.labels:
            where = at(base + ("labels", name))
            if not _LABEL_RE.match(name):
                errors.append(f"{where}: scrape[{i}].labels.{name}: {name!r} is not a valid label name "
                              "(letters, digits and '_', not starting with a digit)")
            elif name.startswith("__"):
                warnings.append(f"{where}: scrape[{i}].labels.{name}: labels starting with '__' are Prometheus-internal and dropped after relabelling")
        job = target.job or f"app-{target.target.replace(':', '-')}"
        if job in jobs:
            errors.append(f"{at(base + ('job',))}: scrape[{i}].job: job name {job!r} is already {jobs[job]}; "
                          "Prometheus refuses two scrape configs of one job name")
        jobs.setdefault(job, f"used by scrape[{i}]")
        if not target.path.startswith("/"):
            errors.append(f"{at(base + ('path',))}: scrape[{i}].path: {target.path!r} must start with '/'")
    return errors, warnings


def _config_doc(cfg: Config) -> LocatedYaml | None:
    if cfg.config_file is None:
        return None
    try:
        return read_yaml(cfg.config_file)
    except ConfigError:
        return None
