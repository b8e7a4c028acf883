"""Seeding against a real Prometheus and Redis: what the scenario intends is what PromQL sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import redis
import requests

from helpers import REPO, require_binaries
from stackctl.seeding import daemon
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.distributions import expected_quantile
from stackctl.seeding.engine import Clock, SeedTargets, seed
from stackctl.state.ports import free_port
from stackctl.testing.stack import TestStack

pytestmark = pytest.mark.native
CATALOG = REPO / "fixtures" / "scenarios"


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestStack]:
    """The project's own stack (native): Prometheus with every pack's rules, and Redis."""
    require_binaries("prometheus", "redis-server")
    with TestStack.start(tmp_path_factory.mktemp("seeding"), runtime="native", services=["prometheus", "redis"]) as stack:
        yield stack


@pytest.fixture(scope="module")
def prometheus(shared_stack: TestStack) -> str:
    return shared_stack.url("prometheus")


@pytest.fixture(scope="module")
def redis_url(shared_stack: TestStack) -> str:
    return shared_stack.redis_url()


def query(url: str, promql: str) -> list[dict[str, Any]]:
    resp = requests.get(url + "/api/v1/query", params={"query": promql}, timeout=10)
    resp.raise_for_status()
    return resp.json()["data"]["result"]


def scalar(url: str, promql: str) -> float:
    result = query(url, promql)
    assert result, f"no data for {promql}"
    return float(result[0]["value"][1])


def test_preview_failures_promql_and_alert(prometheus: str) -> None:
    sc = load_scenario("preview-failures", CATALOG)
    report = seed(sc, SeedTargets(prometheus_url=prometheus), timedelta(minutes=30), duration=0, random_seed=42)
    assert report.backfill and report.backfill.samples == report.samples > 0
    # Intended: 25% failures in the failing phase (Poisson noise over ~300 jobs: +-0.07).
    ratio = scalar(prometheus, 'sum(rate(preview_generation_jobs_completed_total{outcome="failed"}[10m]))'
                               " / sum(rate(preview_generation_jobs_completed_total[10m]))")
    assert ratio == pytest.approx(0.25, abs=0.07)
    hist = next(m for m in sc.metrics if m.name == "preview_generation_job_duration_ms")
    dist = hist.series[0].distribution
    assert dist is not None and hist.buckets is not None
    intended = expected_quantile(dist, tuple(hist.buckets), 0.95)
    p95 = scalar(prometheus, "histogram_quantile(0.95, sum by (le) "
                             '(rate(preview_generation_job_duration_ms_bucket{outcome="ready"}[15m])))')
    assert p95 == pytest.approx(intended, rel=0.25)
    assert _alert_state(prometheus, "PreviewGenerationHighFailureRate", timeout=30) in ("pending", "firing")


def _alert_state(url: str, name: str, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alerts = requests.get(url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        states = [a["state"] for a in alerts if a["labels"].get("alertname") == name]
        if states:
            return states[0]
        time.sleep(1)
    return None


def test_cluster_redis_backlog_metrics_agree_with_redis(prometheus: str, redis_url: str) -> None:
    sc = load_scenario("cluster-redis-backlog", CATALOG)
    seed(sc, SeedTargets(prometheus_url=prometheus, redis_url=redis_url), timedelta(minutes=30), duration=0, random_seed=1)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    summary = client.xpending("streams:embedding.ingested", "cluster-workers")
    assert summary["pending"] > 250  # ~half of 10 minutes at 1/s
    consumers = client.xinfo_consumers("streams:embedding.ingested", "cluster-workers")
    assert consumers[0]["pending"] == summary["pending"]
    assert scalar(prometheus, "media_cluster_pending_jobs") == summary["pending"]
    oldest = client.xpending_range("streams:embedding.ingested", "cluster-workers", "-", "+", 1)[0]
    lag = scalar(prometheus, "media_cluster_stream_lag_seconds")
    assert lag == pytest.approx(int(oldest["time_since_delivered"]) / 1000, abs=5)
    assert lag > 300  # the oldest pending entry is minutes old, as Redis itself says
    assert _alert_state(prometheus, "MediaClusterPendingJobsCritical", timeout=30) in ("pending", "firing")


def test_live_continues_without_reset_or_gap(prometheus: str) -> None:
    sc = load_scenario("luneo-healthy", CATALOG)
    report = seed(sc, SeedTargets(prometheus_url=prometheus), timedelta(minutes=5), duration=12, random_seed=3,
                  step=2, tick=1)
    assert report.live_ticks >= 3
    result = query(prometheus, 'luneo_requests_total{status="200"}[10m]')
    ts = np.array([float(t) for t, _ in result[0]["values"]])
    values = np.array([float(v) for _, v in result[0]["values"]])
    assert len(ts) >= 151 + 3  # 5 min of history at 2 s, then live samples
    assert np.allclose(np.diff(ts), 2.0, atol=0.002)  # same spacing across the seam: no gap
    assert np.all(np.diff(values) >= 0)  # never goes backwards: no reset
    assert scalar(prometheus, "resets(luneo_requests_total[10m])") == 0


@pytest.fixture()
def own_prometheus(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Prometheus of this test alone (its URL and log): no other test's series or alerts."""
    require_binaries("prometheus")
    with TestStack.start(tmp_path, runtime="native", services=["prometheus"]) as stack:
        yield stack.url("prometheus"), stack.cfg.state_dir / "logs" / "prometheus.log"


@pytest.mark.parametrize("ago", [0, 1200], ids=["right-after", "first-ended-20m-ago"])
def test_second_scenario_continues_the_first_without_resets(own_prometheus: tuple[str, Path], ago: int) -> None:
    """Switching scenarios over the same series: the first run's data reaches now (right after)
    or ends 20m ago, so the new history is cut there and its failing 15m are written in full."""
    url, log = own_prometheus
    targets = SeedTargets(prometheus_url=url)
    seed(load_scenario("preview-healthy", CATALOG), targets, timedelta(minutes=30), duration=0, random_seed=1,
         clock=Clock(wall=lambda: time.time() - ago))
    said: list[str] = []
    report = seed(load_scenario("preview-failures", CATALOG), targets, timedelta(minutes=30), duration=0,
                  random_seed=2, progress=said.append)
    caught_up = "counters rise to the scenario's 'failing' phase"
    assert any(m.startswith("continuing ") and (caught_up in m) == (ago == 0) for m in said), said
    assert not any(m.startswith("warning") and "loki" not in m for m in said), said
    assert report.samples > 0  # the "now" sample of every series, after the first run's last one
    for name in ("preview_generation_jobs_completed_total", "preview_generation_job_duration_ms_bucket",
                 "preview_generation_job_duration_ms_count", "preview_generation_jobs_total"):
        resets = query(url, f"resets({name}[1h])")
        assert resets and all(float(r["value"][1]) == 0 for r in resets), (name, resets)
    # As on a fresh Prometheus (same tolerance): the earlier healthy samples do not dilute it.
    ratio = scalar(url, 'sum(rate(preview_generation_jobs_completed_total{outcome="failed"}[10m]))'
                        " / sum(rate(preview_generation_jobs_completed_total[10m]))")
    assert ratio == pytest.approx(0.25, abs=0.07)
    assert _alert_state(url, "PreviewGenerationHighFailureRate", timeout=30) in ("pending", "firing")
    text = log.read_text(errors="replace").lower()
    assert "duplicate sample" not in text and "out of order" not in text and "out-of-order" not in text


def _poll(what: str, read: Callable[[], dict[str, Any]], ok: Callable[[dict[str, Any]], bool],
          timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    data = read()
    while not ok(data):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f}s; last status: {data}")
        time.sleep(0.25)
        data = read()
    return data


def _reap(pid: int) -> None:
    """The seeder is our child here: collect it, or a zombie would keep its pid."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def test_detached_seeder_reports_live_progress_and_stops(prometheus: str, redis_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    args = {"scenario": str(CATALOG / "cluster-redis-backlog.yaml"),
            "targets": {"prometheus_url": prometheus, "loki_url": None, "redis_url": redis_url},
            "history": 300, "duration": None, "random_seed": 9, "tick": 0.5, "step": 1}
    pid = daemon.start(state, args)
    try:
        first = _poll("history written", lambda: daemon.read_status(state),
                      lambda d: d.get("state") == "running" and d.get("samples", 0) > 0)
        assert first["running"] and first["pid"] == pid and first["scenario"] == "cluster-redis-backlog"
        later = _poll("two live ticks", lambda: daemon.read_status(state),
                      lambda d: d.get("live_ticks", 0) >= 2 and d["samples"] > first["samples"])
        assert later["running"] and later["stream_entries"] > first["stream_entries"]
        assert later["last_error"] is None
        stopped = daemon.stop(state)
    finally:
        if daemon.read_status(state)["running"]:
            daemon.stop(state)
        _reap(pid)
    assert not stopped["running"] and stopped["state"] == "stopped" and stopped["stopped_by"] == "interrupt"
    assert not Path(f"/proc/{pid}").exists()
    assert "Traceback" not in daemon.log_path(state).read_text()


def _cli(*argv: str, state: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_")}
    env["STACKCTL_STATE_DIR"] = str(state)
    return subprocess.run([sys.executable, "-m", "stackctl", *argv], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_cli_seed_detach_status_stop(prometheus: str, redis_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    no_loki = f"http://127.0.0.1:{free_port()}"  # nothing listens: skipped with a warning, never another Loki
    started = _cli("seed", "--scenario", "preview-healthy", "--history", "10m", "--detach", "--random-seed", "5",
                   "--prometheus-url", prometheus, "--redis-url", redis_url, "--loki-url", no_loki,
                   state=state, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    pid = json.loads(daemon.status_path(state).read_text())["pid"]
    try:
        def status() -> dict[str, Any]:
            done = _cli("seed", "status", "--json", state=state, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            return dict(json.loads(done.stdout))

        running = _poll("the detached seeder wrote its history", status,
                        lambda d: d.get("state") == "running" and d.get("samples", 0) > 0)
        assert running["running"] and running["scenario"] == "preview-healthy" and running["pid"] == pid
        assert running["skipped"] == ["loki"]
        stopped = _cli("seed", "stop", state=state, cwd=tmp_path)
        assert stopped.returncode == 0 and "seeder stopped" in stopped.stderr, stopped.stderr
        after = status()
    finally:
        if daemon.is_our_seeder(pid):
            os.kill(pid, 15)
    assert not after["running"] and after["state"] == "stopped"
    assert not daemon.is_our_seeder(pid)


def test_cli_history_longer_than_the_window_is_a_usage_error(tmp_path: Path) -> None:
    done = _cli("seed", "--scenario", "preview-healthy", "--history", "25h", "--prometheus-url",
                "http://127.0.0.1:1", "--loki-url", "http://127.0.0.1:1", "--redis-url", "redis://127.0.0.1:1",
                state=tmp_path / "state", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "longer than the stack accepts" in done.stderr and "Traceback" not in done.stderr
