"""Deterministic metric generators that continue across the history/live seam.

Every series owns a numpy Generator seeded from (random seed, metric name, label set), and
its running state (cumulative count, sum, last timestamp). History is one ``advance`` call
over the whole past grid; live calls ``advance`` again with the next grid points, so counters
continue from their last value (never reset) and the sample spacing does not change at the
seam. The same ``--random-seed`` and history give byte-identical values.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from stackctl.seeding import distributions as dists
from stackctl.seeding.scenario import Distribution, Metric, Phase, Scenario, SeriesSpec, series_labels

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Series:
    """One time series: sorted labels (with ``__name__``), ms timestamps, float values."""

    labels: Labels
    timestamps: np.ndarray
    values: np.ndarray

    @property
    def name(self) -> str:
        return dict(self.labels)["__name__"]


def make_labels(name: str, labels: dict[str, str] | None = None) -> Labels:
    """Remote write wants labels sorted by name, ``__name__`` included."""
    return tuple(sorted({**(labels or {}), "__name__": name}.items()))


def series_rng(random_seed: int, *key: str) -> np.random.Generator:
    """A generator per series: adding a metric never changes another metric's data."""
    return np.random.default_rng([random_seed, zlib.crc32("\x1f".join(key).encode())])


def grid(end_ms: int, history_s: float, step_s: float) -> np.ndarray:
    """Sample times (ms) ending exactly at ``end_ms``, ``step_s`` apart, covering the history."""
    step_ms = int(round(step_s * 1000))
    n = int(history_s * 1000 // step_ms) + 1
    return end_ms - step_ms * np.arange(n - 1, -1, -1, dtype=np.int64)


class PhaseTimeline:
    """Maps timestamps to phase indexes: 0 = baseline, k = ``phases[k-1]``.

    The last phase ends at ``end_ms`` (the seeding instant) and stays active afterwards.
    """

    def __init__(self, phases: Sequence[Phase], end_ms: int) -> None:
        self.end_ms = end_ms
        self.names = [p.name for p in phases]
        starts, acc = [], 0.0
        for p in reversed(phases):
            acc += p.duration
            starts.append(end_ms - int(acc * 1000))
        self.starts = np.array(starts[::-1], dtype=np.int64)

    def index(self, ts_ms: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, ts_ms, side="right")

    def name(self, index: int) -> str | None:
        return self.names[index - 1] if index > 0 else None

    @property
    def last_start(self) -> int | None:
        """When the last phase (the one "now" is in) began, in ms; None without phases."""
        return int(self.starts[-1]) if len(self.starts) else None


class MetricGen(Protocol):
    def advance(self, ts_ms: np.ndarray) -> list[Series]: ...


def _weights(m: Metric, phase: str | None) -> np.ndarray:
    w = []
    for s in m.series:
        over = s.phases.get(phase) if phase else None
        w.append(over.weight if over and over.weight is not None else s.weight)
    arr = np.maximum(np.asarray(w, dtype=float), 0.0)
    return arr / arr.sum() if arr.sum() > 0 else arr


def _rate(m: Metric, phase: str | None) -> float:
    over = m.phases.get(phase) if phase else None
    return float(over.rate if over and over.rate is not None else (m.rate or 0.0))


def _dist(m: Metric, s: SeriesSpec, phase: str | None) -> Distribution:
    """Most specific wins: series+phase, metric+phase, series, metric."""
    sp = s.phases.get(phase) if phase else None
    mp = m.phases.get(phase) if phase else None
    for cand in (sp.distribution if sp else None, mp.distribution if mp else None, s.distribution, m.distribution):
        if cand is not None:
            return cand
    raise ValueError(f"{m.name}: no distribution")  # prevented by checks.semantic_problems


class _SeriesState:
    def __init__(self, rng: np.random.Generator, step_ms: int) -> None:
        self.rng = rng
        self.last_ts: int | None = None
        self.step_ms = step_ms

    def intervals(self, ts: np.ndarray) -> np.ndarray:
        """Seconds covered by each new sample; the very first one covers one step."""
        prev = self.last_ts if self.last_ts is not None else int(ts[0]) - self.step_ms
        self.last_ts = int(ts[-1])
        return np.diff(np.concatenate(([prev], ts))).astype(float) / 1000.0


class _Base:
    def __init__(self, metric: Metric, timeline: PhaseTimeline, random_seed: int, step_s: float) -> None:
        self.m = metric
        self.timeline = timeline
        n_phases = len(timeline.names) + 1
        self.phase_names = [timeline.name(k) for k in range(n_phases)]
        step_ms = int(round(step_s * 1000))
        self.label_sets = [series_labels(metric, s) for s in metric.series]
        self.states = [_SeriesState(series_rng(random_seed, metric.name, repr(sorted(ls.items()))), step_ms)
                       for ls in self.label_sets]
        # rates[k, i]: events per second of series i in phase k
        self.rates = np.array([_rate(metric, p) * _weights(metric, p) for p in self.phase_names])


class CounterGen(_Base):
    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        # A process that has been up for a while: start somewhere in its first hour.
        self.totals = [float(np.floor(st.rng.uniform(0, 3600) * self.rates[0, i]))
                       for i, st in enumerate(self.states)]

    def advance(self, ts: np.ndarray) -> list[Series]:
        idx = self.timeline.index(ts)
        out = []
        for i, (labels, st) in enumerate(zip(self.label_sets, self.states)):
            inc = st.rng.poisson(self.rates[idx, i] * st.intervals(ts))
            values = self.totals[i] + np.cumsum(inc, dtype=float)
            self.totals[i] = float(values[-1])
            out.append(Series(make_labels(self.m.name, labels), ts, values))
        return out


class GaugeGen(_Base):
    def advance(self, ts: np.ndarray) -> list[Series]:
        idx = self.timeline.index(ts)
        out = []
        for spec, labels, st in zip(self.m.series, self.label_sets, self.states):
            st.intervals(ts)
            values = np.empty(len(ts))
            for k in np.unique(idx):
                mask = idx == k
                dist = _dist(self.m, spec, self.phase_names[k])
                values[mask] = dists.sample(dist, st.rng, int(mask.sum()))
                if dist.slope:
                    trend = values[mask] + dist.slope * (ts[mask] - self.timeline.end_ms) / 1000.0
                    values[mask] = np.clip(trend, dist.min, dist.max) if dist.min is not None or dist.max is not None else trend
            out.append(Series(make_labels(self.m.name, labels), ts, values))
        return out


def format_le(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() and abs(bound) < 1e15 else repr(float(bound))


class HistogramGen(_Base):
    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.bounds = tuple(float(b) for b in (self.m.buckets or []))
        nb = len(self.bounds) + 1
        self.cum = [np.zeros(nb) for _ in self.states]
        self.sums = [0.0 for _ in self.states]
        self.les = [format_le(b) for b in self.bounds] + ["+Inf"]

    def _step_counts(self, i: int, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-step observations per bucket (non-cumulative) and per-step sum increments."""
        st, spec = self.states[i], self.m.series[i]
        idx = self.timeline.index(ts)
        n = st.rng.poisson(self.rates[idx, i] * st.intervals(ts))
        counts = np.zeros((len(ts), len(self.bounds) + 1))
        sums = np.zeros(len(ts))
        for k in np.unique(idx):
            mask = idx == k
            probs, means = dists.bucket_model(_dist(self.m, spec, self.phase_names[k]), self.bounds)
            counts[mask] = st.rng.multinomial(n[mask], probs)
            sums[mask] = counts[mask] @ means
        return counts, sums

    def advance(self, ts: np.ndarray) -> list[Series]:
        out = []
        for i, labels in enumerate(self.label_sets):
            counts, sums = self._step_counts(i, ts)
            cum_le = np.cumsum(counts, axis=1)  # cumulative over le
            totals = self.cum[i] + np.cumsum(cum_le, axis=0)  # cumulative over time
            sum_values = self.sums[i] + np.cumsum(sums)
            self.cum[i], self.sums[i] = totals[-1].copy(), float(sum_values[-1])
            for b, le in enumerate(self.les):
                out.append(Series(make_labels(f"{self.m.name}_bucket", {**labels, "le": le}), ts, totals[:, b]))
            out.append(Series(make_labels(f"{self.m.name}_sum", labels), ts, sum_values))
            out.append(Series(make_labels(f"{self.m.name}_count", labels), ts, totals[:, -1].copy()))
        return out


_KINDS = {"counter": CounterGen, "gauge": GaugeGen, "histogram": HistogramGen}


def build_generators(scenario: Scenario, timeline: PhaseTimeline, random_seed: int, step_s: float) -> list[MetricGen]:
    return [_KINDS[m.type](m, timeline, random_seed, step_s) for m in scenario.metrics]


def advance_all(gens: Sequence[MetricGen], ts: np.ndarray) -> list[Series]:
    return [s for g in gens for s in g.advance(ts)]
