"""Time to populated dashboards, and the time ``verify`` takes, on seeded native stacks.

Both use ``stackctl.verify``'s own panel evaluation (every query of every panel over the
dashboard's default range), so "populated" means exactly what ``stackctl verify`` reports.
Loki cannot run here, so LogQL panels come back ``skipped``; they are counted in ``meta``.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from benchmarks import userdash
from benchmarks.model import Measurement
from benchmarks.stacks import isolated_config, started
from stackctl.config import Config
from stackctl.packs import PACKS
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.engine import SeedTargets, seed
from stackctl.seeding.remote_write import backfill
from stackctl.verify.checks import CheckResult
from stackctl.verify.dashboards import check_dashboards
from stackctl.verify.client import Prometheus
from stackctl.dashboards import Dashboard
from stackctl.verify.run import VerifyOptions, load_dashboards, verify_stack

RANDOM_SEED = 8  # fixed: every run seeds the same values
POLL_S = 0.05


def seed_targets(cfg: Config) -> SeedTargets:
    auth = f":{cfg.redis_password}@" if cfg.redis_password else ""
    redis = f"redis://{auth}127.0.0.1:{cfg.port('redis')}/0" if "redis" in cfg.services else None
    return SeedTargets(prometheus_url=cfg.url("prometheus"), redis_url=redis)


def pack_dashboards(cfg: Config, packs: list[str], now: float) -> list[Dashboard]:
    """The provisioned dashboards of ``packs`` (each pack is one folder of dashboards)."""
    folders = {p.dashboards_dir for p in PACKS if p.name in packs}
    chosen = [d for d in load_dashboards(cfg, (), now) if d.path.parent.name in folders]
    if not chosen:
        raise RuntimeError(f"no dashboards found for packs {packs}")
    return chosen


def _populated(results: list[CheckResult]) -> bool:
    """Every panel with data to show shows it; LogQL panels (no Loki here) are skipped."""
    return any(r.status == "populated" for r in results) and not any(r.failed for r in results)


def _not_yet(results: list[CheckResult]) -> str:
    return "; ".join(f"{r.dashboard} / {r.panel}: {r.status} {r.detail}" for r in results if r.failed)


def time_to_populated(state_root: Path, scenario: str, timeout: float = 30.0) -> Measurement:
    """From the start of ``seed`` (the scenario's default history) until every panel of the
    scenario's packs is populated."""
    cfg = isolated_config(state_root, "native")
    with started(cfg):
        prom = Prometheus(cfg.url("prometheus"))
        begin = time.perf_counter()
        sc = load_scenario(scenario)
        report = seed(sc, seed_targets(cfg), timedelta(seconds=sc.history), duration=0, random_seed=RANDOM_SEED)
        while True:
            results = check_dashboards(pack_dashboards(cfg, sc.packs, time.time()), prom, None, "Loki is not running")
            elapsed = time.perf_counter() - begin
            if _populated(results):
                break
            if elapsed > timeout:
                raise RuntimeError(f"{scenario}: panels still not populated after {timeout:.0f}s: {_not_yet(results)}")
            time.sleep(POLL_S)
    counts = Counter(r.status for r in results)
    notes = {"scenario": scenario, "packs": list(sc.packs), "history_s": sc.history, "samples_seeded": report.samples,
             "panels": dict(counts)}
    return Measurement({"time_to_populated_s": elapsed}, notes)


def verify_time(state_root: Path, scenario: str = "all-healthy") -> Measurement:
    """``verify_stack`` (what ``stackctl verify`` runs: every panel of every shipped dashboard,
    rule health, metric existence, the scenario's alerts) on a stack seeded with ``scenario``."""
    cfg = isolated_config(state_root, "native")
    with started(cfg):
        sc = load_scenario(scenario)
        seed(sc, seed_targets(cfg), timedelta(seconds=sc.history), duration=0, random_seed=RANDOM_SEED)
        begin = time.perf_counter()
        report = verify_stack(cfg, VerifyOptions(scenario=scenario))
        elapsed = time.perf_counter() - begin
    counts = Counter(r.status for r in report.results)
    notes = {"scenario": scenario, "dashboards": len(report.dashboards),
             "panels": sum(1 for r in report.results if r.kind == "panel"), "results": dict(counts),
             "failed": [f"{r.kind} {r.dashboard} / {r.panel}: {r.status}" for r in report.failed]}
    return Measurement({"verify_s": elapsed}, notes)


def verify_user_dashboards_time(state_root: Path) -> Measurement:
    """``verify_stack`` over ten user dashboards (~400 panels: legacy rows, repeats, library
    panels, live query variables, a PostgreSQL panel each) on a Prometheus-only stack holding
    node_exporter- and app-shaped series; no packs loaded, so only those dashboards count."""
    cfg = isolated_config(state_root, "native", ("prometheus",))
    cfg = cfg.with_(packs=())
    folder = state_root / f"user-dashboards-{cfg.project}"
    panels = userdash.write(folder)
    with started(cfg):
        backfill(cfg.url("prometheus"), userdash.series(time.time()))
        opts = VerifyOptions(extra_dashboards=(folder,))
        verify_stack(cfg, opts)  # warm: the first query of a fresh TSDB pays for loading it
        begin = time.perf_counter()
        report = verify_stack(cfg, opts)
        elapsed = time.perf_counter() - begin
    counts = Counter(r.status for r in report.results if r.kind in ("panel", "annotation"))
    notes = {"dashboards": len(report.dashboards), "panels_written": panels,
             "panel_checks": sum(1 for r in report.results if r.kind == "panel"), "results": dict(counts),
             "failed": [f"{r.kind} {r.dashboard} / {r.panel}: {r.status} {r.detail}" for r in report.failed][:10]}
    return Measurement({"verify_dashboards_s": elapsed}, notes)
