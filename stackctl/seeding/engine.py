"""``seed()``: write a scenario's history at once, then keep it going live.

Order matters: Redis first (the backlog metrics are read back from it), then metrics through
remote write, then logs. Live ticks continue the very same generators on the same sample grid,
so counters never reset and the seam has no gap. A sink whose target is missing or down at
start is skipped with one warning. A sink that goes away mid-way is reported once when it goes
and once when it is back; live ticks go on meanwhile and what the sink missed is resent after
it (``outage``), so the outage window has no gap. What cannot be delivered is counted in the
report's ``dropped``, never lost silently.
Series Prometheus already holds (an earlier seed) are continued, never overwritten: see
``continuation``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

import numpy as np
import requests

from stackctl.errors import SeedError, UsageError
from stackctl.seeding import continuation as cont
from stackctl.seeding import loggen, redis_streams
from stackctl.seeding.generate import (
    PhaseTimeline,
    Series,
    advance_all,
    build_generators,
    grid,
)
from stackctl.seeding.loki import LokiSink
from stackctl.seeding.outage import Backlog, Outage
from stackctl.seeding.remote_write import (
    BackfillStats,
    LiveRemoteWrite,
    RemoteWriter,
    backfill,
)
from stackctl.seeding.scenario import Scenario, format_duration

Progress = Callable[[str], None]
DEFAULT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class SeedTargets:
    prometheus_url: str | None = None
    loki_url: str | None = None
    redis_url: str | None = None


@dataclass
class SeedReport:
    scenario: str
    random_seed: int
    history_seconds: float
    samples: int = 0
    series: int = 0
    log_lines: int = 0
    stream_entries: int = 0
    live_ticks: int = 0
    skipped: list[str] = field(default_factory=list)
    backfill: BackfillStats | None = None
    stopped_by: str = "history-only"
    last_error: str | None = None  # a sink that is down now, or why something was dropped
    pending_samples: int = 0  # held back by an outage, resent when the sink is back
    pending_entries: int = 0  # Redis stream entries held back likewise
    pending_log_lines: int = 0
    dropped: int = 0  # samples, stream entries and log lines that were never delivered
    outages: list[str] = field(default_factory=list)  # one line per outage that ended
    alert_state: list[str] = field(default_factory=list)  # what the `for:` restore did (alert_state)


@dataclass
class Clock:
    """Injectable time: wall clock for timestamps, monotonic for loops."""

    wall: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def _reachable(url: str, path: str) -> str | None:
    try:
        resp = requests.get(url.rstrip("/") + path, timeout=2)
    except requests.RequestException as exc:
        return f"cannot reach {url} ({type(exc).__name__})"
    return None if resp.status_code < 500 else f"{url}{path} answered HTTP {resp.status_code}"


class _Run:
    """The sinks and generators of one seeding run."""

    def __init__(self, sc: Scenario, targets: SeedTargets, seed_: int, step: float, end_ms: int, progress: Progress,
                 window_s: float = DEFAULT_WINDOW.total_seconds()) -> None:
        self.sc, self.step, self.progress = sc, step, progress
        self.report = SeedReport(sc.name, seed_, 0.0)
        self.timeline = timeline = PhaseTimeline(sc.phases, end_ms)
        self.continuation = cont.Continuation()
        self.metric_gens = build_generators(sc, timeline, seed_, step)
        self.log_gens = loggen.build_log_generators(sc.logs, timeline, seed_, step)
        self.stream_gens = redis_streams.build_stream_generators(sc.redis, timeline, seed_, step)
        self.prom_url = self._open_http("prometheus", targets.prometheus_url, "/-/ready", bool(sc.metrics or sc.redis))
        loki_url = self._open_http("loki", targets.loki_url, "/ready", bool(sc.logs))
        self.loki = LokiSink(loki_url, progress=progress) if loki_url else None
        self.redis = self._open_redis(targets.redis_url) if sc.redis else None
        self.writer = RemoteWriter(self.prom_url, progress=progress) if self.prom_url else None
        self.live = LiveRemoteWrite(self.writer, window_s) if self.writer else None
        if not (self.writer or self.loki or self.redis):
            only_logs = bool(sc.logs) and not (sc.metrics or sc.redis)
            raise SeedError(f"nothing to seed for {sc.name!r}: every sink was skipped",
                            hint="the scenario writes only log streams: run the stack with Loki (services: [..., loki]) "
                                 "or pass --loki-url" if only_logs and not targets.loki_url else
                            "start the stack (stackctl up) or pass --prometheus-url/--loki-url/--redis-url")

    def _skip(self, sink: str, why: str) -> None:
        self.report.skipped.append(sink)
        self.progress(f"warning: skipping {sink}: {why}")

    def _open_http(self, sink: str, url: str | None, probe: str, needed: bool) -> str | None:
        if not needed:
            return None
        if not url:
            self._skip(sink, "no target (service not enabled; pass --" + sink + "-url to seed another stack)")
            return None
        problem = _reachable(url, probe)
        if problem:
            self._skip(sink, problem)
            return None
        return url

    def _open_redis(self, url: str | None) -> redis_streams.RedisStreamsSink | None:
        if not url:
            self._skip("redis", "no target (service not enabled; pass --redis-url)")
            return None
        try:
            return redis_streams.RedisStreamsSink(redis_streams.connect(url), self.stream_gens, progress=self.progress)
        except SeedError as exc:
            self._skip("redis", exc.message)
            return None

    def write(self, ts: np.ndarray, now_ms: int, history: bool) -> None:
        series = []
        if self.redis:
            series += (self.redis.write_history if history else self.redis.advance)(ts, now_ms)
            self.report.stream_entries = self.redis.entries
        if self.writer:
            series += advance_all(self.metric_gens, ts)
            if history:
                self.continuation = self._continue_existing(series, now_ms)
            series = self.continuation.apply(series)
            if history:
                self.report.backfill = backfill(self.prom_url or "", series, writer=self.writer)
                self.report.samples += sum(len(s.values) for s in series)
            elif self.live:
                self.report.samples += self.live.offer(series, now_ms)
            self.report.series = max(self.report.series, len(series))
        if self.loki:
            entries = loggen.merge([g.advance(ts) for g in self.log_gens])
            self.report.log_lines += self.loki.push(entries) if history else self.loki.offer(entries)
        self._account()

    def _account(self) -> None:
        """Pending, dropped, outages and the current problem into the report."""
        r, sinks = self.report, self._sinks()
        r.pending_samples = self.live.pending if self.live else 0
        r.pending_entries = self.redis.backlog.count if self.redis else 0
        r.pending_log_lines = self.loki.backlog.count if self.loki else 0
        r.dropped = sum(backlog.dropped for backlog, _o, _n in sinks)
        r.outages = [line for _b, outage, _n in sinks for line in outage.history]
        problems = [o.describe() for _b, o, _n in sinks if o.down] + [note for _b, _o, note in sinks if note]
        r.last_error = "; ".join(p for p in problems if p) or None

    def _sinks(self) -> list[tuple[Backlog[Any], Outage, str | None]]:
        out: list[tuple[Backlog[Any], Outage, str | None]] = []
        if self.live and self.writer:
            out.append((self.live.backlog, self.writer.outage, self.live.drop_note))
        if self.redis:
            out.append((self.redis.backlog, self.redis.outage, self.redis.drop_note))
        if self.loki:
            out.append((self.loki.backlog, self.loki.outage, self.loki.drop_note))
        return out

    def finish(self) -> None:
        """Stopping: what an outage still holds back will never be delivered; count it."""
        for backlog, outage, _note in self._sinks():
            if backlog.count:
                self.progress(f"warning: stopped while {outage.sink} was down: {backlog.drop_all():,} items of "
                              "the outage were never delivered (counted as dropped)")
        self._account()

    def _continue_existing(self, series: list[Series], now_ms: int) -> cont.Continuation:
        """Ask Prometheus what it already holds of ``series`` (an earlier seed) and continue it."""
        if not series:
            return cont.Continuation()
        query = cont.prometheus_query(self.prom_url or "")
        names = {s.name for s in series}
        wanted = {s.labels for s in series}
        lookback = self.report.history_seconds + cont.LOOKBACK_MARGIN_S
        try:
            existing = cont.fetch_existing(query, names, lookback, now_ms, wanted)
            plan = cont.plan(series, existing, cont.cumulative_names(self.sc), self.timeline.last_start,
                             lambda ms: cont.fetch_values(query, names, int(lookback * 1000), ms, wanted))
        except SeedError as exc:
            self.progress(f"warning: cannot tell which series prometheus already holds ({exc.message}); "
                          "writing a fresh history, so an earlier seed's counters may appear to reset")
            return cont.Continuation()
        if plan.after_ms is not None:
            phase = self.timeline.names[-1] if self.timeline.names else None
            self.progress(plan.describe(now_ms, phase))
        return plan


def check_history(history: timedelta, window: timedelta = DEFAULT_WINDOW) -> None:
    """A usage error (exit 2): the flag is wrong, not the stack."""
    if history.total_seconds() <= 0:
        raise UsageError("--history must be positive")
    if history > window:
        raise UsageError(f"--history {format_duration(history.total_seconds())} is longer than the stack accepts "
                        f"({format_duration(window.total_seconds())}: Prometheus' out-of-order window, less the time a write takes)",
                        hint=f"use --history {format_duration(window.total_seconds())} or less")


def seed(scenario: Scenario, targets: SeedTargets, history: timedelta, duration: float | None = None,
         random_seed: int | None = None, progress: Progress | None = None, *, clock: Clock | None = None,
         tick: float = 5.0, step: float | None = None, window: timedelta = DEFAULT_WINDOW,
         on_tick: Callable[[SeedReport], None] | None = None,
         after_history: Callable[[SeedReport], None] | None = None) -> SeedReport:
    """Seed ``scenario`` into ``targets``: history now, then live until ``duration`` seconds
    (None: until KeyboardInterrupt; 0: history only). Returns what was written.
    ``after_history`` runs once the history is in, before live seeding (the alert-state restore)."""
    check_history(history, window)
    clock, progress = clock or Clock(), progress or (lambda _m: None)
    step = step or scenario.step
    step_ms = int(round(step * 1000))
    seed_ = random_seed if random_seed is not None else secrets.randbelow(2**31)
    # Not aligned to the step: a second seed of the same series then never lands on the same
    # millisecond, which Prometheus would reject as "duplicate sample for timestamp".
    end_ms = int(clock.wall() * 1000)
    run = _Run(scenario, targets, seed_, step, end_ms, progress, window.total_seconds())
    run.report.history_seconds = history.total_seconds()
    _write_history(run, end_ms, history.total_seconds(), progress)
    if after_history and run.writer:
        after_history(run.report)
    if on_tick:
        on_tick(run.report)
    if duration == 0:
        return run.report
    try:
        _live(run, end_ms, step_ms, duration, clock, tick, on_tick)
    except KeyboardInterrupt:
        run.report.stopped_by = "interrupt"
    run.finish()
    return run.report


def _write_history(run: _Run, end_ms: int, history_s: float, progress: Progress) -> None:
    started = time.monotonic()
    run.write(grid(end_ms, history_s, run.step), end_ms, history=True)
    r = run.report
    c = run.continuation
    if c.after_ms is not None and not c.fresh:  # every series continued: the longest span written
        history_s = max(0.0, (end_ms - min(c.cuts.values() or [c.after_ms])) / 1000)
    parts = []
    if r.backfill:
        parts.append(f"{r.samples:,} samples in {r.series:,} series ({r.backfill.samples_per_s:,.0f} samples/s)")
    if run.loki:
        parts.append(f"{r.log_lines:,} log lines")
    if run.redis:
        parts.append(f"{r.stream_entries:,} stream entries")
    progress(f"history {format_duration(history_s)} written in {time.monotonic() - started:.1f}s: " + ", ".join(parts))


def _live(run: _Run, last_ms: int, step_ms: int, duration: float | None, clock: Clock, tick: float,
          on_tick: Callable[[SeedReport], None] | None) -> None:
    started = clock.monotonic()
    run.report.stopped_by = "duration"
    while duration is None or clock.monotonic() - started < duration:
        remaining = tick if duration is None else min(tick, duration - (clock.monotonic() - started))
        clock.sleep(max(remaining, 0.0))
        now_ms = int(clock.wall() * 1000)
        due = (now_ms - last_ms) // step_ms
        if due <= 0:
            continue
        ts = last_ms + step_ms * np.arange(1, due + 1, dtype=np.int64)
        try:
            run.write(ts, now_ms, history=False)
        except SeedError as exc:
            run.report.last_error = exc.message
            raise
        finally:
            if on_tick:
                on_tick(run.report)
        last_ms = int(ts[-1])
        run.report.live_ticks += 1
