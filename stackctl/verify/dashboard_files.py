"""`stackctl verify`'s static half: every dashboard Grafana loads, checked as Grafana loads it.

The same checks ``up`` runs before anything starts (:mod:`stackctl.dashboards.validate`), on the
files as written (the packs' shipped JSON, the user's ``dashboards:`` folders, ``--dashboards``),
against the datasources the rendered provisioning gives Grafana. Warnings are reported too:
``up`` only shows the first few.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from stackctl.assets import asset_path
from stackctl.config import Config
from stackctl.dashboards.datasources import Datasources
from stackctl.dashboards.files import dashboard_paths, user_folder
from stackctl.dashboards.validate import DashboardFile, Problem, check_files
from stackctl.render.definition import rendered_root
from stackctl.render.preflight import provisioned_dashboard_files
from stackctl.verify.checks import CheckResult, Status


def provisioned_datasources(cfg: Config) -> Datasources:
    folder = rendered_root(cfg) / "grafana" / "provisioning" / "datasources"
    if not folder.is_dir():
        folder = asset_path("grafana", "provisioning", "datasources")
    docs = []
    for path in sorted(folder.glob("*.y*ml")):
        try:
            docs.append(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError):
            continue
    return Datasources.from_provisioning(docs)


def dashboard_files(cfg: Config, extra: tuple[Path, ...]) -> list[DashboardFile]:
    """The files as their authors wrote them: a rendered pack folder's JSON is read from the assets."""
    out: list[DashboardFile] = []
    rendered = rendered_root(cfg) / "grafana" / "dashboards"
    shipped = asset_path("grafana", "dashboards")
    folders = sorted(p for p in rendered.iterdir() if p.is_dir() and not p.name.startswith(("user-", "prov-"))) if rendered.is_dir() \
        else sorted(p for p in shipped.iterdir() if p.is_dir()) if shipped.is_dir() else []
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            original = shipped / folder.name / path.name
            out.append(DashboardFile(original if original.is_file() else path, folder.name))
    for folder in cfg.dashboards:
        out += [DashboardFile(p, user_folder(folder)) for p in dashboard_paths(folder)]
    out += provisioned_dashboard_files(cfg)
    for item in extra:
        out += [DashboardFile(p, f"extra-{item.name}") for p in dashboard_paths(item)]
    # each file once, however it was given (a stackctl.yaml folder passed with --dashboards too)
    first: dict[Path, DashboardFile] = {}
    for f in out:
        first.setdefault(f.path.resolve(), f)
    return list(first.values())


def check(cfg: Config, extra: tuple[Path, ...] = ()) -> list[CheckResult]:
    files = dashboard_files(cfg, extra)
    problems = check_files(files, provisioned_datasources(cfg))
    results = [_result(p) for p in problems]
    failing = {p.source for p in problems if p.severity == "error"}
    results += [CheckResult("dashboard", str(f.path), "(file)", "", "ok", "loads in Grafana")
                for f in files if str(f.path) not in failing]
    return results


def _result(problem: Problem) -> CheckResult:
    where = f"{problem.source}:{problem.line}" if problem.line else problem.source
    status: Status = "error" if problem.severity == "error" else "ok"
    detail = problem.message if problem.severity == "error" else f"warning: {problem.message}"
    return CheckResult("dashboard", where, problem.where, problem.field, status, detail)
