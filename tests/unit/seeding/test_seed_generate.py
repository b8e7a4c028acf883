from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.distributions import expected_quantile
from stackctl.seeding.generate import PhaseTimeline, advance_all, build_generators, grid

CATALOG = Path(__file__).resolve().parents[3] / "fixtures" / "scenarios"
END = 1_800_000_000_000  # ms, on a 15 s grid


def _history(name: str, seed: int, history_s: float = 1800) -> tuple[list, list]:
    sc = load_scenario(name, CATALOG)
    gens = build_generators(sc, PhaseTimeline(sc.phases, END), seed, 15)
    return gens, advance_all(gens, grid(END, history_s, 15))


def test_same_random_seed_same_data() -> None:
    _, a = _history("preview-failures", 7)
    _, b = _history("preview-failures", 7)
    _, c = _history("preview-failures", 8)
    assert [s.labels for s in a] == [s.labels for s in b]
    assert all(np.array_equal(x.values, y.values) for x, y in zip(a, b))
    assert not all(np.array_equal(x.values, y.values) for x, y in zip(a, c))


def test_grid_ends_now_with_fixed_step() -> None:
    ts = grid(END, 1800, 15)
    assert ts[-1] == END and len(ts) == 121 and set(np.diff(ts)) == {15_000}


def test_counters_monotonic_and_continue_across_seam() -> None:
    gens, hist = _history("cluster-failures", 3)
    sc = load_scenario("cluster-failures", CATALOG)
    cumulative = {m.name for m in sc.metrics if m.type == "counter"}
    cumulative |= {f"{m.name}_{p}" for m in sc.metrics if m.type == "histogram" for p in ("bucket", "sum", "count")}
    live = advance_all(gens, END + 15_000 * np.arange(1, 5, dtype=np.int64))
    for h, got in zip(hist, live):
        assert h.labels == got.labels
        if h.name in cumulative:
            joined = np.concatenate([h.values, got.values])
            assert np.all(np.diff(joined) >= 0), h.labels  # no reset at the seam
        assert got.timestamps[0] - h.timestamps[-1] == 15_000  # no gap at the seam


def test_histogram_buckets_sum_count_consistent() -> None:
    _, series = _history("preview-slow", 1)
    by: dict[Any, Any] = {}
    for s in series:
        d = dict(s.labels)
        by.setdefault((d.get("outcome"), d["__name__"]), []).append(s)
    buckets = sorted(by[("ready", "preview_generation_job_duration_ms_bucket")],
                     key=lambda s: float(dict(s.labels)["le"].replace("+Inf", "inf")))
    stacked = np.vstack([b.values for b in buckets])
    assert np.all(np.diff(stacked, axis=0) >= 0)  # cumulative over le
    count = by[("ready", "preview_generation_job_duration_ms_count")][0].values
    assert dict(buckets[-1].labels)["le"] == "+Inf" and np.array_equal(stacked[-1], count)
    total = by[("ready", "preview_generation_job_duration_ms_sum")][0].values
    assert np.all(np.diff(total) >= 0) and total[-1] > 0


def test_phase_changes_the_failure_ratio() -> None:
    _, series = _history("preview-failures", 11)
    completed = {dict(s.labels)["outcome"]: s.values for s in series
                 if s.name == "preview_generation_jobs_completed_total"}
    window = 40  # last 10 minutes at 15 s
    failed = completed["failed"][-1] - completed["failed"][-window - 1]
    ready = completed["ready"][-1] - completed["ready"][-window - 1]
    assert failed / (failed + ready) == pytest.approx(0.25, abs=0.08)


def test_phase_timeline_ends_in_the_last_phase() -> None:
    sc = load_scenario("preview-failures", CATALOG)
    tl = PhaseTimeline(sc.phases, END)
    idx = tl.index(np.array([END - 1_800_000, END - 900_001, END - 900_000, END, END + 60_000]))
    assert [tl.name(int(i)) for i in idx] == ["healthy", "healthy", "failing", "failing", "failing"]


def test_expected_quantile_matches_lognormal_p95_roughly() -> None:
    sc = load_scenario("preview-healthy", CATALOG)
    hist = next(m for m in sc.metrics if m.type == "histogram")
    dist = hist.series[0].distribution
    assert dist is not None and hist.buckets is not None
    q = expected_quantile(dist, tuple(hist.buckets), 0.95)
    assert 120_000 < q < 180_000  # true p95 150000, linear interpolation in (120000, 180000]
