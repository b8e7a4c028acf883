"""``build_report``: the one call behind ``stackctl report``. The same scope as ``verify``
(dashboards, scenario, packs, Prometheus, Loki), every panel's data and verdict, the alerts;
``write_report`` turns it into the HTML file and, optionally, one PNG per panel."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from stackctl.config import Config
from stackctl.report import source
from stackctl.report.collect import collect
from stackctl.report.model import Alerts, Report
from stackctl.state.dirs import write_atomic
from stackctl.verify import checks
from stackctl.verify.checks import CheckResult
from stackctl.verify.client import Prometheus
from stackctl.verify.dashboards import resolve_dashboards
from stackctl.verify.run import VerifyOptions, groups_of, resolve_scope

Progress = Callable[[str], None]


def _alerts(prom: Prometheus, packs: tuple[str, ...] | None, scenario: Any, unreadable: list[CheckResult]) -> Alerts:
    groups = groups_of(prom.rule_groups(), packs)
    active = prom.alerts()
    names = {str((a.get("labels") or {}).get("alertname")) for a in active}
    inactive = sorted({str(r.get("name")) for g in groups for r in g.get("rules") or []
                       if r.get("type") == "alerting" and r.get("name") not in names})
    order = {"firing": 0, "pending": 1}
    active.sort(key=lambda a: (order.get(str(a.get("state")), 2), str((a.get("labels") or {}).get("alertname"))))
    expected = checks.expected_alert_results(scenario, active) if scenario is not None else []
    return Alerts(active, inactive, expected, list(unreadable) + checks.check_rules(groups))


def build_report(cfg: Config, opts: VerifyOptions, progress: Progress = lambda _m: None) -> Report:
    """Query every panel verify would check (the same options choose them), over its dashboard's default range."""
    scope = resolve_scope(cfg, opts)
    prom, loki = scope.prom, scope.loki
    report = Report(time.time(), prom.url, scope.loki_info, scope.scenario.name if scope.scenario else None, scope.packs,
                    _alerts(prom, scope.packs, scope.scenario, scope.files))
    progress("resolving dashboard variables")
    views = [source.view(rd, scope.now) for rd in resolve_dashboards(scope.dashboards, prom, scope.now, scope.scrape)]
    progress(f"querying {sum(len(v.panels) for v in views)} panels of {len(views)} dashboards")
    report.dashboards = list(zip(views, collect(views, prom, loki, scope.loki_info)))
    return report


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "panel"


@dataclass(frozen=True)
class Written:
    html: Path
    pngs: tuple[Path, ...] = ()


def write_report(report: Report, out: Path, png_dir: Path | None = None, progress: Progress = lambda _m: None) -> Written:
    from stackctl.report import page  # matplotlib loads here, not when the CLI starts

    progress("drawing the panels")
    html = page.render(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, html.encode("utf-8"))
    pngs: list[Path] = []
    if png_dir is not None:
        progress(f"writing one PNG per panel to {png_dir}")
        png_dir.mkdir(parents=True, exist_ok=True)
        for di, (dv, panels) in enumerate(report.dashboards):
            for pi, pd in enumerate(panels):
                path = png_dir / f"{di + 1:02d}-{slug(dv.title)}--{pi + 1:02d}-{slug(pd.view.title)}.png"
                write_atomic(path, page.panel_png(pd, report))
                pngs.append(path)
    return Written(out, tuple(pngs))
