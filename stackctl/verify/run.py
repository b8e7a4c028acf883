"""``verify_stack``: the one call behind ``stackctl verify``. Finds the targets and inputs
(Prometheus, Loki, the dashboards, the seeded scenario), runs every check, returns records."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from stackctl.assets import asset_path
from stackctl.config import Config
from stackctl.errors import UsageError
from stackctl.render.configs import rendered_root
from stackctl.dashboards import panels as dashboards
from stackctl.verify import checks
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
    all_packs: bool = False  # False: only the seeded scenario's packs, when a scenario is known


@dataclass
class VerifyReport:
    results: list[CheckResult] = field(default_factory=list)
    dashboards: list[str] = field(default_factory=list)
    scenario: str | None = None
    prometheus_url: str = ""
    loki: str = ""  # the Loki URL checked, or why Loki targets were skipped
    packs: tuple[str, ...] | None = None  # the packs checked (None: every loaded one)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.failed]


def _in_packs(path: Path, packs: tuple[str, ...] | None) -> bool:
    """A pack's dashboards live in a folder named after its dashboards_dir; user folders always count."""
    if packs is None:
        return True
    from stackctl.packs import get_pack, pack_names

    folder = path.parent.name
    pack_dirs = {get_pack(p).dashboards_dir for p in pack_names()}
    return folder not in pack_dirs or folder in {get_pack(p).dashboards_dir for p in packs}


def _check_paths(extra: tuple[Path, ...]) -> None:
    for path in extra:
        if not path.exists():
            raise UsageError(f"--dashboards {path}: no such file or folder", hint="give a folder of dashboard JSON files, or one file")


def load_dashboards(cfg: Config, extra: tuple[Path, ...], now: float, packs: tuple[str, ...] | None = None) -> list[dashboards.Dashboard]:
    _check_paths(extra)
    rendered = rendered_root(cfg) / "grafana"
    # stackctl.yaml `dashboards:` folders are part of the rendered tree already.
    files = dashboards.dashboard_files(rendered / "dashboards", asset_path("grafana", "dashboards"), extra)
    scrape = dashboards.scrape_interval(rendered / "provisioning" / "datasources" / "datasources.yml")
    extra_files = {p.resolve() for item in extra for p in (item.rglob("*.json") if item.is_dir() else [item])}
    return [dashboards.load(p, now, scrape) for p in files if p in extra_files or _in_packs(p, packs)]


def _loki(cfg: Config, url: str | None) -> tuple[Loki | None, str]:
    """The Loki to query, or None and why LogQL targets are skipped."""
    if url is None:
        from stackctl.stack.orchestrator import stack_services

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


def _scenario(name: str | None, state_dir: Path | None = None) -> Any:
    if not name:
        return None
    from stackctl.seeding.catalog import load_scenario
    from stackctl.seeding.synth.record import scenario_path

    synthesized = scenario_path(state_dir, name) if state_dir is not None else None  # seed --from
    return load_scenario(str(synthesized) if synthesized else name)


def verify_stack(cfg: Config, opts: VerifyOptions, progress: Progress = lambda _m: None) -> VerifyReport:
    _check_paths(opts.extra_dashboards)  # a typo fails at once, before any network call
    prom = Prometheus(opts.prometheus_url or cfg.url("prometheus"))
    prom.ready()
    now = time.time()
    scenario = _scenario(opts.scenario or seeded_scenario(cfg), cfg.state_dir)
    # A one-pack scenario populates one pack: check its dashboards and rules, not every pack's.
    packs = None if opts.all_packs or scenario is None else tuple(scenario.packs)
    dash = load_dashboards(cfg, opts.extra_dashboards, now, packs)
    loki, loki_info = _loki(cfg, opts.loki_url)
    report = VerifyReport(dashboards=[d.title for d in dash], prometheus_url=prom.url, loki=loki_info, packs=packs)
    report.results += checks.check_dashboards(dash, prom, loki, loki_info, progress)
    progress("checking rule groups")
    groups = _groups_of(prom.rule_groups(), packs)
    report.results += checks.check_rules(groups)
    progress("checking that every referenced metric exists")
    known = prom.metric_names(now - checks.METRICS_WINDOW, now) | checks.recorded_names(groups)
    report.results += checks.check_metrics(checks.metric_sources(groups, dash), known)
    if scenario is not None:
        report.scenario = scenario.name
        progress(f"checking the alerts scenario {scenario.name} expects")
        report.results += checks.check_expected_alerts(scenario, prom, opts.alert_wait)
    return report


def _groups_of(groups: list[dict[str, Any]], packs: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """The packs' rule groups (named after their pack) plus every group that is not a pack's."""
    if packs is None:
        return groups
    from stackctl.packs import pack_names

    all_packs = set(pack_names())
    return [g for g in groups if g.get("name") not in all_packs or g.get("name") in packs]
