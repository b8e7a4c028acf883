"""``verify_stack``: the one call behind ``stackctl verify``. Finds the targets and inputs
(Prometheus, Loki, the dashboards, the seeded scenario), runs every check, returns records."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from stackctl.assets import asset_path
from stackctl.config import Config
from stackctl.dashboards import Dashboard, load_dashboard
from stackctl.dashboards.files import dashboard_paths
from stackctl.dashboards.timing import DEFAULT_SCRAPE, parse_duration
from stackctl.errors import ConfigError, UsageError
from stackctl.render.configs import rendered_root
from stackctl.verify import checks, dashboards
from stackctl.verify import dashboard_files as static_files  # the static half (as Grafana loads the files)
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


def dashboard_files(rendered: Path, shipped: Path, extra: tuple[Path, ...] = ()) -> list[Path]:
    """Every provisioned dashboard (the rendered tree, else the shipped one) plus ``extra``
    folders or files, without duplicate paths."""
    # A rendered tree (the stack was brought up) is the truth, even with no pack loaded.
    root = rendered if rendered.is_dir() or (rendered.parent / "provisioning").is_dir() else shipped
    files = dashboard_paths(root) if root.is_dir() else []
    for item in extra:
        files += dashboard_paths(item)
    return list(dict.fromkeys(p.resolve() for p in files))


def scrape_interval(cfg: Config) -> float:
    """The Prometheus datasource's ``timeInterval`` (Grafana's scrape interval for its macros)."""
    path = rendered_root(cfg) / "grafana" / "provisioning" / "datasources" / "datasources.yml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return DEFAULT_SCRAPE
    for ds in doc.get("datasources") or []:
        if isinstance(ds, dict) and ds.get("type") == "prometheus":
            return parse_duration((ds.get("jsonData") or {}).get("timeInterval")) or DEFAULT_SCRAPE
    return DEFAULT_SCRAPE


def load_dashboards(cfg: Config, extra: tuple[Path, ...], now: float, packs: tuple[str, ...] | None = None,
                    unreadable: list[CheckResult] | None = None) -> list[Dashboard]:
    """The dashboards to check, each once: a stackctl.yaml folder is in the rendered tree and
    may be given with --dashboards too, so copies (same uid, else same title and queries) go.
    Files that are not dashboards are added to ``unreadable`` (or raise when it is None)."""
    _check_paths(extra)
    # stackctl.yaml `dashboards:` folders are part of the rendered tree already.
    files = dashboard_files(rendered_root(cfg) / "grafana" / "dashboards", asset_path("grafana", "dashboards"), extra)
    extra_files = {p.resolve() for item in extra for p in dashboard_paths(item)}
    seen: dict[str, Dashboard] = {}
    for p in files:
        if p not in extra_files and not _in_packs(p, packs):
            continue
        try:
            d = load_dashboard(p)
        except ConfigError as exc:
            if unreadable is None:
                raise
            unreadable.append(CheckResult("dashboard", p.name, str(p), "", "error", exc.message))
            continue
        seen.setdefault(d.key, d)
    return list(seen.values())


def _loki(cfg: Config, url: str | None) -> tuple[Loki | None, str]:
    """The Loki to query, or None and why LogQL targets are skipped."""
    if url is None:
        from stackctl.stack.orchestrator import stack_services

        if "loki" not in stack_services(cfg):
            return None, "Loki is not part of this stack (LogQL targets read, not run)"
        url = cfg.url("loki")
    loki = Loki(url)
    problem = loki.reachable()
    return (None, problem + " (LogQL targets read, not run)") if problem else (loki, url)


def seeded_scenario(cfg: Config) -> str | None:
    """The scenario last seeded into this project's stack, from the record of the running stack."""
    from stackctl.state import record

    rec = record.load(cfg.state_dir)
    return rec.scenario if rec is not None else None


def _scenario(name: str | None, state_dir: Path | None = None) -> Any:
    if not name:
        return None
    from stackctl.seeding.catalog import load_scenario
    from stackctl.seeding.synth.record import scenario_path

    synthesized = scenario_path(state_dir, name) if state_dir is not None else None  # seed --from
    return load_scenario(str(synthesized) if synthesized else name)


@dataclass(frozen=True)
class Scope:
    """What a verification (or a report) reads: the servers, the scenario, the dashboards."""

    prom: Prometheus
    now: float
    scenario: Any  # the Scenario, or None
    packs: tuple[str, ...] | None
    dashboards: list[Dashboard]
    loki: Loki | None
    loki_info: str
    files: list[CheckResult] = field(default_factory=list)  # the dashboard files' static check, unreadable files
    scrape: float = DEFAULT_SCRAPE  # the Prometheus datasource's timeInterval


def resolve_scope(cfg: Config, opts: VerifyOptions) -> Scope:
    """Check the inputs, reach Prometheus, pick the scenario's packs and their dashboards
    (``verify`` and ``report`` read the same scope)."""
    _check_paths(opts.extra_dashboards)  # a typo fails at once, before any network call
    static = static_files.check(cfg, opts.extra_dashboards)  # as Grafana will load them (no network)
    prom = Prometheus(opts.prometheus_url or cfg.url("prometheus"))
    prom.ready()
    now = time.time()
    scenario = _scenario(opts.scenario or seeded_scenario(cfg), cfg.state_dir)
    # A one-pack scenario populates one pack: check its dashboards and rules, not every pack's.
    packs = None if opts.all_packs or scenario is None else tuple(scenario.packs)
    unreadable: list[CheckResult] = []
    dash = load_dashboards(cfg, opts.extra_dashboards, now, packs, unreadable)
    loki, loki_info = _loki(cfg, opts.loki_url)
    return Scope(prom, now, scenario, packs, dash, loki, loki_info, static + _not_reported(unreadable, static), scrape_interval(cfg))


def verify_stack(cfg: Config, opts: VerifyOptions, progress: Progress = lambda _m: None) -> VerifyReport:
    scope = resolve_scope(cfg, opts)
    prom, now, scenario, packs, dash = scope.prom, scope.now, scope.scenario, scope.packs, scope.dashboards
    report = VerifyReport(results=list(scope.files), dashboards=[d.title for d in dash], prometheus_url=prom.url,
                          loki=scope.loki_info, packs=packs)
    progress("resolving dashboard variables")
    resolved = dashboards.resolve_dashboards(dash, prom, now, scope.scrape)
    report.results += dashboards.check_resolved(resolved, prom, scope.loki, scope.loki_info, progress)
    progress("checking rule groups")
    groups = groups_of(prom.rule_groups(), packs)
    report.results += checks.check_rules(groups)
    progress("checking that every referenced metric exists")
    known = prom.metric_names(now - checks.METRICS_WINDOW, now) | checks.recorded_names(groups)
    report.results += checks.check_metrics(checks.metric_sources(groups, resolved), known)
    if scenario is not None:
        report.scenario = scenario.name
        progress(f"checking the alerts scenario {scenario.name} expects")
        report.results += checks.check_expected_alerts(scenario, prom, opts.alert_wait)
    return report


def _not_reported(unreadable: list[CheckResult], static: list[CheckResult]) -> list[CheckResult]:
    """Unreadable files the static check has not reported already (it names ``path[:line]``)."""
    def path_of(r: CheckResult) -> Path:
        head, _, tail = r.dashboard.rpartition(":")
        return Path(head if head and tail.isdigit() else r.dashboard).resolve()

    reported = {path_of(r) for r in static if r.failed}
    return [u for u in unreadable if Path(u.panel).resolve() not in reported]


def groups_of(groups: list[dict[str, Any]], packs: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """The packs' rule groups (named after their pack) plus every group that is not a pack's."""
    if packs is None:
        return groups
    from stackctl.packs import pack_names

    all_packs = set(pack_names())
    return [g for g in groups if g.get("name") not in all_packs or g.get("name") in packs]
