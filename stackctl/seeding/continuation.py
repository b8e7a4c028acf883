"""Seeding series that Prometheus already holds: continue them, never interleave with them.

Prometheus cannot delete in-memory samples, and its out-of-order window accepts a second
history written over a first one; the two runs' counters would then interleave and
``rate()`` would see false resets. So before writing, the engine asks Prometheus for the last
value and the last sample time of each series the scenario is about to write, and:

- writes each series' samples only strictly after its own last sample; a series new to the
  stack gets the full history (switching scenarios leaves no pack without a past); if a
  series' data reaches "now", it gets no history and continues live;
- shifts every cumulative series (counters, histogram ``_bucket``/``_sum``/``_count``) by a
  constant offset so it continues from its stored value: never backwards across runs;
- if the cut reaches into the scenario's last phase (the bad one, which ends "now"), a
  cumulative series also rises at least as much since that phase began as the scenario
  intends, counted from its stored value at the phase start. Windows inside the bad phase
  (``rate(...[10m])``) then show what the scenario is about right away, as on a fresh
  Prometheus, and its alerts go pending.

Gauges need no offset. A fresh Prometheus costs one query that returns nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping, Sequence

import numpy as np
import requests

from stackctl.errors import SeedError
from stackctl.seeding.generate import Labels, Series
from stackctl.seeding.scenario import Scenario

QueryFn = Callable[[str, float], list[dict[str, Any]]]  # PromQL, evaluation time (s) -> result
LOOKBACK_MARGIN_S = 3600.0  # older data is beyond any rate() window over the new history
_AHEAD_MS = 60_000  # also see samples a concurrent seeder wrote with a clock slightly ahead
_RAW_MS = 120_000  # read raw samples only over a window this short: cheap even at a 1 s step


@dataclass(frozen=True)
class Existing:
    """What Prometheus already holds of this run's series."""

    values: Mapping[Labels, float]  # the last value of each series that has samples
    latest_ms: int  # the newest sample among them
    last_ms: Mapping[Labels, int] = field(default_factory=dict)  # each series' own last sample


def prometheus_query(url: str, timeout: float = 10.0) -> QueryFn:
    """An instant-query function over Prometheus' HTTP API (POST: the regexes get long)."""
    endpoint = url.rstrip("/") + "/api/v1/query"

    def query(promql: str, at_s: float) -> list[dict[str, Any]]:
        for attempt in range(_READ_RACE_ATTEMPTS):
            try:
                resp = requests.post(endpoint, data={"query": promql, "time": f"{at_s:.3f}"}, timeout=timeout)
                body = resp.json()
            except (requests.RequestException, ValueError) as exc:
                raise SeedError(f"query to {endpoint} failed ({type(exc).__name__})") from None
            if body.get("status") == "success":
                return list(body["data"]["result"])
            if not read_race(str(body.get("error"))) or attempt == _READ_RACE_ATTEMPTS - 1:
                break
            time.sleep(0.2)
        raise SeedError(f"{endpoint} refused a query: {body.get('error', resp.status_code)}")

    return query


_READ_RACE_ATTEMPTS = 6


def read_race(error: str) -> bool:
    """Prometheus 2.42 sometimes fails a read over out-of-order data while it m-maps chunks
    ("cannot populate chunk N from block 0000...: not found"); the same query then succeeds."""
    return "cannot populate chunk" in error


def cumulative_names(sc: Scenario) -> frozenset[str]:
    """Names of the series that must never go backwards."""
    names = {m.name for m in sc.metrics if m.type == "counter"}
    names |= {f"{m.name}_{part}" for m in sc.metrics if m.type == "histogram" for part in ("bucket", "sum", "count")}
    return frozenset(names)


def _selector(names: Collection[str]) -> str:
    return '{__name__=~"' + "|".join(sorted(set(names))) + '"}'


def values_query(names: Collection[str], span_ms: int) -> str:
    """Last value per series; ``last_over_time`` keeps ``__name__`` (``timestamp()`` would not)."""
    return f"last_over_time({_selector(names)}[{int(span_ms)}ms])"


def _labels(metric: Mapping[str, str]) -> Labels:
    return tuple(sorted(metric.items()))


def fetch_values(query: QueryFn, names: Collection[str], span_ms: int, at_ms: int,
                 wanted: Collection[Labels]) -> dict[Labels, float]:
    """Last value in the ``span_ms`` up to ``at_ms`` of each ``wanted`` series that has one."""
    rows = query(values_query(names, span_ms), at_ms / 1000)
    found = {_labels(r["metric"]): float(r["value"][1]) for r in rows}
    return {k: v for k, v in found.items() if k in wanted}


def fetch_existing(query: QueryFn, names: Collection[str], lookback_s: float, now_ms: int,
                   wanted: Collection[Labels]) -> Existing | None:
    """The last values of the ``wanted`` series and their newest sample time; None if none."""
    hi, span = now_ms + _AHEAD_MS, int(lookback_s * 1000) + _AHEAD_MS
    values = fetch_values(query, names, span, hi, wanted)
    if not values:
        return None
    last = fetch_last_times(query, names, span, hi, set(values))
    latest = max(last.values()) if last else _latest(query, names, set(values), hi - span, hi)
    return Existing(values, latest, last)


_TIMES_STEP_MS = 60_000  # well under the 5m lookback: every sample is seen by some step


def last_times_query(name: str, span_ms: int) -> str:
    """Each series' last sample time (s) of metric ``name``: ``timestamp()`` of a plain selector
    gives a sample's own time (of anything else, the evaluation time), and the subquery's steps
    each see the newest sample of the 5 minutes before them. One name per query: ``timestamp()``
    drops ``__name__``."""
    return f'max_over_time(timestamp({{__name__="{name}"}})[{int(span_ms)}ms:{_TIMES_STEP_MS}ms])'


def fetch_last_times(query: QueryFn, names: Collection[str], span_ms: int, at_ms: int,
                     wanted: Collection[Labels]) -> dict[Labels, int]:
    """The last sample time (ms) of each ``wanted`` series in the ``span_ms`` up to ``at_ms``."""
    out = {}
    for name in sorted({dict(w)["__name__"] for w in wanted} & set(names)):
        for r in query(last_times_query(name, span_ms), at_ms / 1000):
            labels = _labels({**r["metric"], "__name__": name})
            if labels in wanted:
                out[labels] = int(round(float(r["value"][1]) * 1000))
    return out


def _latest(query: QueryFn, names: Collection[str], wanted: Collection[Labels], lo: int, hi: int) -> int:
    """The newest sample of ``wanted`` in [lo, hi], exactly.

    Bisects on "any sample in [mid, hi]" (a cheap ``last_over_time``), then reads the raw
    samples of the short window left. Usually the data reaches now: two queries.
    """
    def any_in(a: int, b: int) -> bool:
        return bool(fetch_values(query, names, b - a, b, wanted))

    if hi - lo > _RAW_MS and any_in(hi - _RAW_MS, hi):
        lo = hi - _RAW_MS
    while hi - lo > _RAW_MS:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if any_in(mid, hi) else (lo, mid)
    rows = query(f"{_selector(names)}[{hi - lo}ms]", hi / 1000)
    stamps = [float(t) for r in rows if _labels(r["metric"]) in wanted for t, _ in r["values"]]
    if not stamps:
        raise SeedError("the newest sample of the existing series vanished while looking for it")
    return int(round(max(stamps) * 1000))


@dataclass(frozen=True)
class Continuation:
    """How this run's series continue what Prometheus holds; the default changes nothing."""

    after_ms: int | None = None  # the latest cut (None: nothing to continue)
    offsets: Mapping[Labels, float] = field(default_factory=dict)
    continued: int = 0  # this run's series that already held samples
    caught_up: int = 0  # cumulative series lifted to the last phase's intended increase
    cuts: Mapping[Labels, int] = field(default_factory=dict)  # per series: write only after this
    fresh: int = 0  # this run's series new to the stack: full history

    def apply(self, series: Sequence[Series]) -> list[Series]:
        if self.after_ms is None:
            return list(series)
        out = []
        for s in series:
            ts, values = s.timestamps, s.values
            cut = self.cuts.get(s.labels, self.after_ms if not self.cuts else None)
            if cut is not None and ts.size and ts[0] <= cut:
                keep = ts > cut
                ts, values = ts[keep], values[keep]
            offset = self.offsets.get(s.labels, 0.0)
            if ts.size:
                out.append(Series(s.labels, ts, values + offset if offset else values))
        return out

    def describe(self, end_ms: int, phase: str | None) -> str:
        assert self.after_ms is not None
        if self.cuts:
            oldest = min(self.cuts.values())
            where = (f"continuing {self.continued:,} series from their own last samples "
                     f"({_clock(oldest)}" + (f" to {_clock(self.after_ms)})" if oldest != self.after_ms else ")"))
            tail = f"; {self.fresh:,} series new to the stack get the full history" if self.fresh else ""
            if self.after_ms >= end_ms and oldest >= end_ms:
                tail += "; their data reaches now: no history written, live from here"
        else:
            where = f"continuing {self.continued:,} series from existing data up to {_clock(self.after_ms)}"
            tail = "; history from there" if self.after_ms < end_ms else "; it reaches now: no history written, live from here"
        if self.caught_up:
            tail += f"; {self.caught_up:,} counters rise to the scenario's {phase!r} phase since it began"
        return where + tail


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


def _index_at(ts: np.ndarray, ms: int) -> int:
    """Index of the last sample at or before ``ms``; 0 if none (the first sample)."""
    return max(int(np.searchsorted(ts, ms, side="right")) - 1, 0)


def plan(series: Sequence[Series], existing: Existing | None, cumulative: Collection[str],
         phase_start_ms: int | None, stored_at: Callable[[int], Mapping[Labels, float]]) -> Continuation:
    """Cut and offsets for ``series`` (this run's full history, as generated) over ``existing``.

    ``stored_at(ms)`` gives the stored values at ``ms``; it is asked only when the cut reaches
    into the last phase, which began at ``phase_start_ms``.
    """
    if existing is None:
        return Continuation()
    stored = existing.values
    ours = [s for s in series if s.labels in stored and s.timestamps.size]
    if not ours:
        return Continuation()
    cuts = {s.labels: existing.last_ms.get(s.labels, existing.latest_ms) for s in ours}
    need_phase = phase_start_ms is not None and any(phase_start_ms <= c for c in cuts.values())
    at_phase = stored_at(phase_start_ms) if need_phase and phase_start_ms is not None else {}
    offsets: dict[Labels, float] = {}
    caught_up = 0
    for s in ours:
        if s.name not in cumulative:
            continue
        cut = cuts[s.labels]
        # The generated value at the cut maps onto the stored last value: no step, no reset.
        offset = stored[s.labels] - float(s.values[_index_at(s.timestamps, cut)])
        if s.labels in at_phase and phase_start_ms is not None and phase_start_ms <= cut:
            lifted = at_phase[s.labels] - float(s.values[_index_at(s.timestamps, phase_start_ms)])
            if lifted > offset:
                offset, caught_up = lifted, caught_up + 1
        offsets[s.labels] = offset
    fresh = sum(1 for s in series if s.labels not in stored)
    return Continuation(max(cuts.values()), offsets, len(ours), caught_up, cuts, fresh)
