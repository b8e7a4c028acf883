"""Seeding a stack stackctl runs: the core behind `stackctl seed` and `up --seed`.

Resolves the targets (explicit URLs win, else the stack's services), starts the detached
seeder, or runs in the foreground while recording the scenario for `verify` and `seed status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from stackctl.errors import UsageError
from stackctl.seeding import daemon
from stackctl.seeding.engine import DEFAULT_WINDOW, SeedReport, SeedTargets, check_history, seed
from stackctl.seeding.redis_streams import redact
from stackctl.seeding.restore_hook import alert_state_hook, daemon_stack
from stackctl.seeding.scenario import Scenario
from stackctl.seeding.targets import resolve_targets


@dataclass(frozen=True)
class SeedRequest:
    scenario: str  # a catalog name or a YAML path
    history_s: float = 1800.0
    duration: float | None = None  # None: until interrupted; 0: history only
    random_seed: int | None = None
    prometheus_url: str | None = None
    loki_url: str | None = None
    redis_url: str | None = None

    def check(self) -> None:
        """Every value checked before anything starts (a detached seeder never reports success first)."""
        check_history(timedelta(seconds=self.history_s), DEFAULT_WINDOW)
        if self.random_seed is not None and not 0 <= self.random_seed < 2**32:
            raise UsageError(f"--random-seed {self.random_seed} is out of range", hint="use a whole number from 0 to 4294967295")
        for flag, url, schemes in (("--prometheus-url", self.prometheus_url, ("http", "https")),
                                   ("--loki-url", self.loki_url, ("http", "https")),
                                   ("--redis-url", self.redis_url, ("redis", "rediss"))):
            if url is not None:
                check_url(flag, url, schemes)

    @property
    def explicit(self) -> bool:
        """Every target given: no stack (and no config) is needed."""
        return bool(self.prometheus_url and self.loki_url and self.redis_url)


def check_url(flag: str, url: str, schemes: tuple[str, ...]) -> None:
    """A URL with one of ``schemes``, a host and a valid port; never silently a default."""
    example = f"{schemes[0]}://127.0.0.1:{6379 if schemes[0].startswith('redis') else 9090}"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"{flag} {redact(url)!r} has an invalid port", hint=f"e.g. {flag} {example}") from None
    if parts.scheme not in schemes or not parts.hostname or any(c.isspace() for c in url):
        raise UsageError(f"{flag} {redact(url)!r} is not a {'/'.join(schemes)} URL with a host",
                         hint=f"e.g. {flag} {example}")
    del port



def targets_for(cfg: Any | None, req: SeedRequest) -> SeedTargets:
    return resolve_targets(cfg, req.prometheus_url, req.loki_url, req.redis_url)


def start_detached(state_dir: Path, req: SeedRequest, targets: SeedTargets, cfg: Any | None = None) -> int:
    """Seed in the background (its own session); returns the seeder's pid."""
    name = str(Path(req.scenario).resolve()) if req.scenario.endswith((".yaml", ".yml")) else req.scenario
    return daemon.start(state_dir, {"scenario": name, "targets": targets.__dict__, "history": req.history_s,
                                    "duration": req.duration, "random_seed": req.random_seed, "stack": daemon_stack(cfg)})


def recorded_file(state_dir: Path | None, sc: Scenario, given: str) -> str | None:
    """The scenario file `verify` loads (``seed --scenario s.yaml``, e.g. one `scenarios
    generate` wrote: its name is in no catalog); None for a catalog name, or the scenario
    ``seed --from`` keeps under the state dir (verify finds that one by name)."""
    if not given.endswith((".yaml", ".yml")):
        return None
    path = Path(given).resolve()
    kept = state_dir is not None and path == (state_dir / "synth" / f"{sc.name}.yaml").resolve()
    return None if kept else str(path)


def run_foreground(state_dir: Path | None, sc: Scenario, req: SeedRequest, targets: SeedTargets,
                   progress: Callable[[str], None], on_tick: Callable[[SeedReport], None] | None = None,
                   cfg: Any | None = None) -> SeedReport:
    """Seed here until done or interrupted; with a state dir, record it like the detached seeder does.
    With the stack's ``cfg``, Prometheus is restarted to restore the alerts' state."""
    name, file = sc.name, recorded_file(state_dir, sc, req.scenario)
    if state_dir is not None:
        daemon.record_foreground(state_dir, name, file=file)
    report = None
    in_history = True

    def ticked(r: SeedReport) -> None:
        nonlocal in_history
        if in_history and state_dir is not None:  # the first tick: the history is complete
            daemon.record_foreground(state_dir, name, phase="live", file=file)
        in_history = False
        if on_tick:
            on_tick(r)

    try:
        report = seed(sc, targets, timedelta(seconds=req.history_s), req.duration, req.random_seed, progress, on_tick=ticked,
                      after_history=alert_state_hook(cfg, targets, req.history_s, progress))
        return report
    except KeyboardInterrupt:
        if state_dir is not None and in_history:
            cut = SeedReport(sc.name, 0, req.history_s, stopped_by="interrupt",
                             last_error="stopped while writing the history: it is incomplete; run the same seed "
                                        "again to complete it")
            daemon.record_foreground(state_dir, name, cut, phase="history", state="interrupted", file=file)
            state_dir = None
        raise
    finally:
        if state_dir is not None:
            daemon.record_foreground(state_dir, name, report if report is not None else SeedReport(sc.name, 0, req.history_s),
                                     phase="history" if in_history else "live", file=file)


def start_background_seeder(cfg: Any, scenario: str, history_s: float = 1800.0) -> int:
    """`up --seed`: history, then live in the background, into the stack of ``cfg``."""
    req = SeedRequest(scenario, history_s)
    return start_detached(cfg.state_dir, req, targets_for(cfg, req), cfg)
