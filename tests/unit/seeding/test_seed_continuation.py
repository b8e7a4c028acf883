"""Continuing series an earlier seed left in Prometheus: cut, offsets and catch-up, over a fake
instant-query function that answers the two PromQL shapes ``continuation`` sends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stackctl.seeding import continuation as cont
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.generate import Labels, PhaseTimeline, Series, advance_all, build_generators, grid, make_labels

CATALOG = Path(__file__).resolve().parents[3] / "fixtures" / "scenarios"
END = 1_800_000_000_000
MIN = 60_000


class FakePrometheus:
    """Stored samples per series; answers ``last_over_time`` and the tagged ``timestamp`` query."""

    def __init__(self) -> None:
        self.samples: dict[Labels, list[tuple[int, float]]] = {}
        self.queries: list[str] = []

    def add(self, series: list[Series]) -> None:
        for s in series:
            self.samples.setdefault(s.labels, []).extend(zip(s.timestamps.tolist(), s.values.tolist()))

    def query(self, promql: str, at_s: float) -> list[dict[str, Any]]:
        """``last_over_time(SEL[Nms])`` (a vector), ``SEL[Nms]`` (raw samples, a matrix) or the
        last sample time per series of one name (``max_over_time(timestamp({__name__="n"})[Nms:Sms])``)."""
        self.queries.append(promql)
        at = int(round(at_s * 1000))
        if promql.startswith("max_over_time(timestamp("):
            return self._last_times(promql, at)
        names, span = re.search(r'=~"([^"]*)"\}\[(\d+)ms\]', promql).groups()  # type: ignore[union-attr]
        out = []
        for labels, points in self.samples.items():
            metric = dict(labels)
            seen = sorted((t, v) for t, v in points if at - int(span) <= t <= at)
            if metric["__name__"] not in names.split("|") or not seen:
                continue
            if promql.startswith("last_over_time("):
                out.append({"metric": metric, "value": [at_s, repr(seen[-1][1])]})
            else:
                out.append({"metric": metric, "values": [[t / 1000, repr(v)] for t, v in seen]})
        return out


    def _last_times(self, promql: str, at: int) -> list[dict[str, Any]]:
        name, span = re.search(r'__name__="([^"]+)"\}\)\[(\d+)ms:', promql).groups()  # type: ignore[union-attr]
        out = []
        for labels, points in self.samples.items():
            metric = dict(labels)
            seen = [t for t, _ in points if at - int(span) <= t <= at]
            if metric.pop("__name__") == name and seen:
                out.append({"metric": metric, "value": [at / 1000, repr(max(seen) / 1000)]})
        return out


def _history(name: str, end_ms: int, seed: int = 5, history_s: float = 1800) -> tuple[list[Series], PhaseTimeline, Any]:
    sc = load_scenario(name, CATALOG)
    timeline = PhaseTimeline(sc.phases, end_ms)
    gens = build_generators(sc, timeline, seed, 15)
    return advance_all(gens, grid(end_ms, history_s, 15)), timeline, (sc, gens)


def _continue(prom: FakePrometheus, series: list[Series], timeline: PhaseTimeline, sc: Any, now_ms: int,
              lookback_s: float = 1800 + cont.LOOKBACK_MARGIN_S) -> cont.Continuation:
    names, wanted = {s.name for s in series}, {s.labels for s in series}
    existing = cont.fetch_existing(prom.query, names, lookback_s, now_ms, wanted)
    return cont.plan(series, existing, cont.cumulative_names(sc), timeline.last_start,
                     lambda ms: cont.fetch_values(prom.query, names, int(lookback_s * 1000), ms, wanted))


def _joined(prom: FakePrometheus, labels: Labels) -> np.ndarray:
    return np.array([v for _, v in sorted(prom.samples[labels])])


def _ratio_last_10m(prom: FakePrometheus, now_ms: int) -> float:
    inc = {}
    for labels, points in prom.samples.items():
        d = dict(labels)
        if d["__name__"] == "preview_generation_jobs_completed_total":
            pts = sorted(points)
            inside = [v for t, v in pts if t > now_ms - 10 * MIN]
            inc[d["outcome"]] = inside[-1] - inside[0]
    return inc["failed"] / (inc["failed"] + inc["ready"])


def test_fresh_prometheus_changes_nothing_and_costs_one_query() -> None:
    prom = FakePrometheus()
    series, timeline, (sc, _) = _history("preview-failures", END)
    plan = _continue(prom, series, timeline, sc, END)
    assert plan == cont.Continuation() and len(prom.queries) == 1
    out = plan.apply(series)
    assert all(a is b for a, b in zip((s.values for s in out), (s.values for s in series)))


def test_switch_right_after_an_earlier_seed_continues_counters_and_keeps_the_bad_phase() -> None:
    prom = FakePrometheus()
    healthy, _, _ = _history("preview-healthy", END, seed=1)
    prom.add(healthy)
    now = END + 20_000  # seconds later: the earlier data reaches (almost) now
    series, timeline, (sc, gens) = _history("preview-failures", now, seed=2)
    plan = _continue(prom, series, timeline, sc, now)
    assert plan.after_ms == END and plan.continued == len(series)
    new = plan.apply(series)
    assert all(s.timestamps[0] > END for s in new) and sum(len(s.values) for s in new) == 2 * len(series)  # END+5s, END+20s
    prom.add(new)
    prom.add(plan.apply(advance_all(gens, now + 15_000 * np.arange(1, 5, dtype=np.int64))))  # live, same offsets
    cumulative = cont.cumulative_names(sc)
    for s in series:
        if s.name in cumulative:
            assert np.all(np.diff(_joined(prom, s.labels)) >= 0), s.labels  # no reset across runs
    assert plan.caught_up > 0
    assert _ratio_last_10m(prom, now) == pytest.approx(0.25, abs=0.07)


def test_older_data_cuts_history_and_the_bad_phase_is_written_in_full() -> None:
    prom = FakePrometheus()
    healthy, _, _ = _history("preview-healthy", END - 20 * MIN, seed=1)
    prom.add(healthy)
    series, timeline, (sc, _) = _history("preview-failures", END, seed=2)
    plan = _continue(prom, series, timeline, sc, END)
    assert plan.after_ms == END - 20 * MIN and plan.caught_up == 0  # the failing 15m lie after the cut
    new = plan.apply(series)
    assert all(s.timestamps[0] == END - 20 * MIN + 15_000 and s.timestamps[-1] == END for s in new)
    prom.add(new)
    for s in series:
        if s.name in cont.cumulative_names(sc):
            joined = _joined(prom, s.labels)
            assert np.all(np.diff(joined) >= 0), s.labels
    gauge = next(s for s in new if s.name == "preview_generation_queue_depth")
    original = next(s for s in series if s.labels == gauge.labels)
    assert np.array_equal(gauge.values, original.values[-len(gauge.values):])  # gauges: no offset
    assert _ratio_last_10m(prom, END) == pytest.approx(0.25, abs=0.07)


def test_data_beyond_now_means_no_history_and_live_after_it() -> None:
    labels = make_labels("jobs_total")
    prom = FakePrometheus()
    prom.add([Series(labels, np.array([END - MIN, END + 30_000]), np.array([100.0, 120.0]))])
    ts = grid(END, 600, 15)
    series = [Series(labels, ts, np.arange(len(ts), dtype=float))]
    existing = cont.fetch_existing(prom.query, ["jobs_total"], 600 + cont.LOOKBACK_MARGIN_S, END, {labels})
    assert existing is not None and existing.latest_ms == END + 30_000
    plan = cont.plan(series, existing, {"jobs_total"}, None, lambda ms: {})
    assert plan.apply(series) == [] and "no history written" in plan.describe(END, None)
    live = Series(labels, END + 15_000 * np.arange(1, 4, dtype=np.int64), np.array([41.0, 42.0, 43.0]))
    (after,) = plan.apply([live])
    assert after.timestamps.tolist() == [END + 45_000] and after.values[0] >= 120


def test_other_label_sets_of_the_same_name_are_left_alone() -> None:
    ours, theirs = make_labels("http_requests_total", {"job": "a"}), make_labels("http_requests_total", {"job": "b"})
    prom = FakePrometheus()
    prom.add([Series(theirs, np.array([END - 1000]), np.array([9e6]))])
    series = [Series(ours, grid(END, 600, 15), np.arange(41.0))]
    existing = cont.fetch_existing(prom.query, ["http_requests_total"], 4200, END, {ours})
    assert existing is None and cont.plan(series, existing, {"http_requests_total"}, None, lambda ms: {}).after_ms is None


@pytest.mark.parametrize("age_ms", [0, 1, 119_999, 120_001, 7 * MIN, 3_600_000 + 17, 5_000_000])
def test_newest_sample_is_found_exactly_wherever_it_lies(age_ms: int) -> None:
    labels, other = make_labels("jobs_total", {"a": "1"}), make_labels("jobs_total", {"a": "2"})
    prom = FakePrometheus()
    newest = END - age_ms
    prom.add([Series(labels, np.array([newest - 3 * MIN, newest]), np.array([1.0, 2.0])),
              Series(other, np.array([newest - MIN]), np.array([5.0]))])
    prom.add([Series(make_labels("jobs_total", {"a": "foreign"}), np.array([END]), np.array([9.0]))])
    existing = cont.fetch_existing(prom.query, ["jobs_total"], 5400, END, {labels, other})
    assert existing is not None and existing.latest_ms == newest and existing.values == {labels: 2.0, other: 5.0}
    assert len(prom.queries) <= 2 + 12  # values, last sample times (one name)


def test_each_series_continues_from_its_own_last_sample_and_new_series_get_the_full_history() -> None:
    """Issue 15 item 4: a scenario switch must not cut the other packs' series to seconds."""
    prom = FakePrometheus()
    failures, _, _ = _history("preview-failures", END - 10 * MIN, seed=1)
    prom.add(failures)
    series, timeline, (sc, _) = _history("all-healthy", END, seed=2)
    plan = _continue(prom, series, timeline, sc, END)
    new = {s.labels: s for s in plan.apply(series)}
    old = {s.labels for s in failures}
    assert plan.continued == len(old & {s.labels for s in series}) and plan.fresh == len(series) - plan.continued > 0
    for s in series:
        if s.labels in old:
            assert new[s.labels].timestamps[0] > END - 10 * MIN  # after its own last sample
        else:
            assert np.array_equal(new[s.labels].timestamps, s.timestamps)  # the full history
    assert "new to the stack get the full history" in plan.describe(END, None)


def test_series_stopped_at_different_times_are_cut_each_at_its_own_end() -> None:
    a, b = make_labels("jobs_total", {"a": "1"}), make_labels("jobs_total", {"a": "2"})
    prom = FakePrometheus()
    prom.add([Series(a, np.array([END - 30 * MIN, END - 20 * MIN]), np.array([1.0, 2.0])),
              Series(b, np.array([END - 30 * MIN, END - 5 * MIN]), np.array([1.0, 7.0]))])
    ts = grid(END, 1800, 15)
    series = [Series(a, ts, np.arange(len(ts), dtype=float)), Series(b, ts, np.arange(len(ts), dtype=float))]
    existing = cont.fetch_existing(prom.query, ["jobs_total"], 1800 + cont.LOOKBACK_MARGIN_S, END, {a, b})
    assert existing is not None and existing.last_ms == {a: END - 20 * MIN, b: END - 5 * MIN}
    plan = cont.plan(series, existing, {"jobs_total"}, None, lambda ms: {})
    out = {s.labels: s for s in plan.apply(series)}
    assert out[a].timestamps[0] == END - 20 * MIN + 15_000 and out[b].timestamps[0] == END - 5 * MIN + 15_000
    assert out[a].values[0] > 2.0 and out[b].values[0] > 7.0  # counters continue upwards from their own values
