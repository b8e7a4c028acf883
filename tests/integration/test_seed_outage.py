"""R1: a component killed while seeding live. The seeder says so once, says when it is back,
and what the outage window missed arrives afterwards: no gap, no counter reset."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from helpers import REPO, require_binaries
from stackctl.runtime import pids
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.engine import Clock, SeedReport, SeedTargets, seed
from stackctl.stack import orchestrator as stack
from stackctl.testing.stack import TestStack

pytestmark = [pytest.mark.native, pytest.mark.promise("R1")]
CATALOG = REPO / "fixtures" / "scenarios"
STEP = 1.0


@pytest.fixture()
def native_stack(tmp_path: Path) -> Iterator[TestStack]:
    require_binaries("prometheus", "promtool", "redis-server")
    handle = TestStack.start(tmp_path, runtime="native", services=["prometheus", "redis"], timeout=60)
    try:
        yield handle
    finally:
        handle.stop()


class LiveSeeder:
    """``seed()`` live in a thread, at a 1 s step and tick, until ``stop()``."""

    def __init__(self, handle: TestStack, scenario: str) -> None:
        self.said: list[str] = []
        self.report: SeedReport | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        targets = SeedTargets(prometheus_url=handle.url("prometheus"), redis_url=handle.redis_url())

        def sleep(seconds: float) -> None:
            if self._stop.wait(seconds):
                raise KeyboardInterrupt  # what Ctrl-C does to a foreground seeder

        def run() -> None:
            try:
                self.report = seed(load_scenario(scenario, CATALOG), targets, timedelta(minutes=5), duration=120,
                                   random_seed=7, progress=self.said.append, clock=Clock(sleep=sleep),
                                   tick=STEP, step=STEP, on_tick=self._tick)
            except BaseException as exc:  # surfaced by stop()
                self.error = exc

        self._live: SeedReport | None = None
        self._thread = threading.Thread(target=run, name="seeder", daemon=True)
        self._thread.start()

    def _tick(self, report: SeedReport) -> None:
        self._live = report

    def wait_ticks(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        start = self._live.live_ticks if self._live else 0
        while not (self._live and self._live.live_ticks >= start + n):
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"no {n} live ticks within {timeout:.0f}s; said: {self.said}"
            time.sleep(0.1)

    def wait_said(self, prefix: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(m.startswith(prefix) for m in self.said):
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"nothing said starting {prefix!r} within {timeout:.0f}s: {self.said}"
            time.sleep(0.1)

    def stop(self) -> SeedReport:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the seeder did not stop"
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report

    def count(self, prefix: str) -> int:
        return sum(m.startswith(prefix) for m in self.said)


def kill(handle: TestStack, service: str) -> float:
    """SIGKILL the service's process (as a crash would); returns when it happened (epoch s)."""
    rec = pids.load(handle.cfg.state_dir / "run", service)
    assert rec is not None and pids.is_ours(rec), f"no running {service} recorded"
    os.kill(rec.pid, signal.SIGKILL)
    killed = time.time()
    try:
        os.waitpid(rec.pid, 0)  # our child (TestStack spawned it): no zombie holding the pid
    except ChildProcessError:
        pass
    return killed


def raw_samples(handle: TestStack, selector: str, since: float) -> list[tuple[np.ndarray, np.ndarray]]:
    span = int(time.time() - since) + 5
    result: Any = handle.query(f"{selector}[{span}s]")
    rows = result if isinstance(result, list) else []
    assert rows, f"no samples of {selector} in the last {span}s"
    return [(np.array([float(t) for t, _ in r["values"]]), np.array([float(v) for _, v in r["values"]])) for r in rows]


def assert_no_gap(handle: TestStack, selector: str, killed: float, back: float) -> None:
    for ts, values in raw_samples(handle, selector, killed - 10):
        assert ts[0] < killed - 2 and ts[-1] > back + 2, (ts[0], killed, ts[-1], back)
        assert np.allclose(np.diff(ts), STEP, atol=0.002), f"{selector}: gap at {ts[1:][np.diff(ts) > STEP + 0.002]}"
        if selector.split("{")[0].endswith("_total"):
            assert np.all(np.diff(values) >= 0), f"{selector} went backwards"


def test_prometheus_killed_while_seeding_live(native_stack: TestStack) -> None:
    seeder = LiveSeeder(native_stack, "preview-healthy")
    try:
        seeder.wait_ticks(2)
        killed = kill(native_stack, "prometheus")
        seeder.wait_said("warning: prometheus is down")
        time.sleep(8)  # several ticks with Prometheus gone
        stack.up(native_stack.cfg, native_stack.cfg.services, timeout=60)  # respawns it; it replays its WAL
        back = time.time()
        seeder.wait_said("prometheus is back after")
        seeder.wait_ticks(3)
    finally:
        report = seeder.stop()
    assert seeder.count("warning: prometheus is down") == 1, seeder.said
    assert seeder.count("prometheus is back after") == 1, seeder.said
    assert report.dropped == 0 and report.pending_samples == 0 and report.last_error is None, report
    assert len(report.outages) == 1 and report.outages[0].startswith("prometheus down "), report.outages
    assert_no_gap(native_stack, 'preview_generation_jobs_total{scenario="thumbnail",backend="rq"}', killed, back)
    resets = native_stack.query("resets(preview_generation_jobs_total[10m])")
    assert resets and all(float(r["value"][1]) == 0 for r in resets), resets


def test_redis_killed_while_seeding_live(native_stack: TestStack) -> None:
    key = "streams:embedding.ingested"
    seeder = LiveSeeder(native_stack, "cluster-redis-backlog")
    try:
        seeder.wait_ticks(2)
        killed = kill(native_stack, "redis")
        seeder.wait_said("warning: redis is down")
        time.sleep(6)
        stack.up(native_stack.cfg, native_stack.cfg.services, timeout=60)
        back = time.time()
        seeder.wait_said("redis is back after")
        seeder.wait_ticks(3)
    finally:
        report = seeder.stop()
    assert seeder.count("warning: redis is down") == 1, seeder.said
    assert seeder.count("redis is back after") == 1, seeder.said
    assert seeder.count("warning: prometheus") == 0, seeder.said
    assert report.dropped == 0 and report.pending_entries == 0 and report.last_error is None, report
    client = native_stack.redis()
    during = client.xrange(key, min=f"{int(killed * 1000)}", max=f"{int(back * 1000)}")
    # Poisson arrivals at ~1/s over 6+ s: at least one lands in the window (P(none) < 0.3%)
    assert len(during) >= 1, "the entries of the outage window were not added after it"
    assert client.xrange(key, min=f"{int(back * 1000) + 1000}", max="+"), "the stream stopped growing"
    ids = [entry_id for entry_id, _ in client.xrange(key)]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    # The backlog metrics of the outage window were read back from Redis and written late.
    assert_no_gap(native_stack, "media_cluster_pending_jobs", killed, back)
