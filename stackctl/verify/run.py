"""``verify_stack``: the one call behind ``stackctl verify``. Finds the targets and inputs
(Prometheus, Loki, the dashboards, the seeded scenario), runs every check, returns records."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from stackctl.assets import asset_path
from stackctl.config import Config
from stackctl.errors import VerifyError
from stackctl.render import rendered_root
from stackctl.verify import checks, dashboards
from stackctl.verify.checks import CheckResult
from stackctl.verify.client import Loki, Prometheus

Progress = Callable[[str], None]


@dataclass(frozen=True)
class VerifyOptions:
    extra_dashboards: tuple[Path, ...] = ()
    scenario: str | None = None  # None: the scenario the seeder recorded, if any
    prometheus_url: str | None = None
    loki_url: str | None = None
    alert_wait: float | None = None  # None: the scenario's longest `within`


@dataclass
class VerifyReport:
    results: list[CheckResult] = field(default_factory=list)
    dashboards: list[str] = field(default_factory=list)
    scenario: str | None = None
    prometheus_url: str = ""
    loki: str = ""  # the Loki URL checked, or why Loki targets were skipped

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.failed]


def load_dashboards(cfg: Config, extra: tuple[Path, ...], now: float) -> list[dashboards.Dashboard]:
    for path in extra:
        if not path.exists():
            raise VerifyError(f"--dashboards {path}: no such file or folder")
    rendered = rendered_root(cfg) / "grafana"
    # stackctl.yaml `dashboards:` folders are part of the rendered tree already.
    files = dashboards.dashboard_files(rendered / "dashboards", asset_path("grafana", "dashboards"), extra)
    scrape = dashboards.scrape_interval(rendered / "provisioning" / "datasources" / "datasources.yml")
    return [dashboards.load(p, now, scrape) for p in files]


def _loki(cfg: Config, url: str | None) -> tuple[Loki | None, str]:
    """The Loki to query, or None and why LogQL targets are skipped."""
    if url is None:
        from stackctl.stack import stack_services

        if "loki" not in stack_services(cfg):
            return None, "Loki is not part of this stack (LogQL targets not checked)"
        url = cfg.url("loki")
    loki = Loki(url)
    problem = loki.reachable()
    return (None, problem + " (LogQL targets not checked)") if problem else (loki, url)


def seeded_scenario(cfg: Config) -> str | None:
    """The scenario the (detached) seeder last ran in this project, from its status file."""
    from stackctl.seeding import daemon

    name = daemon.read_status(cfg.state_dir).get("scenario")
    return str(name) if name else None


def _scenario(name: str | None) -> Any:
    if not name:
        return None
    from stackctl.seeding.catalog import load_scenario

    return load_scenario(name)


def verify_stack(cfg: Config, opts: VerifyOptions, progress: Progress = lambda _m: None) -> VerifyReport:
    prom = Prometheus(opts.prometheus_url or cfg.url("prometheus"))
    prom.ready()
    now = time.time()
    dash = load_dashboards(cfg, opts.extra_dashboards, now)
    loki, loki_info = _loki(cfg, opts.loki_url)
    report = VerifyReport(dashboards=[d.title for d in dash], prometheus_url=prom.url, loki=loki_info)
    report.results += checks.check_dashboards(dash, prom, loki, loki_info, progress)
    progress("checking rule groups")
    groups = prom.rule_groups()
    report.results += checks.check_rules(groups)
    progress("checking that every referenced metric exists")
    known = prom.metric_names(now - checks.METRICS_WINDOW, now) | checks.recorded_names(groups)
    report.results += checks.check_metrics(checks.metric_sources(groups, dash), known)
    scenario = _scenario(opts.scenario or seeded_scenario(cfg))
    if scenario is not None:
        report.scenario = scenario.name
        progress(f"checking the alerts scenario {scenario.name} expects")
        report.results += checks.check_expected_alerts(scenario, prom, opts.alert_wait)
    return report
