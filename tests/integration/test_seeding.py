"""Seeding against a real Prometheus and Redis: what the scenario intends is what PromQL sees."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import redis
import requests

from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.distributions import expected_quantile
from stackctl.seeding.engine import SeedTargets, seed

from seeding_servers import REPO, start_prometheus, start_redis

pytestmark = pytest.mark.native
CATALOG = REPO / "fixtures" / "scenarios"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from start_prometheus(tmp_path_factory.mktemp("prometheus"))


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from start_redis(tmp_path_factory.mktemp("redis"))


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
    intended = expected_quantile(hist.series[0].distribution, tuple(hist.buckets), 0.95)
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
    assert lag == pytest.approx(oldest["time_since_delivered"] / 1000, abs=5)
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
