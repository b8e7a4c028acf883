"""Log lines for a scenario's ``logs:`` streams, continuing across the history/live seam.

Lines are structured (JSON by default, like the Pino/structlog loggers the seeds describe):
level, msg and the template's fields as keys, so LogQL ``| json`` filters on request_id,
job_id or pet_id work. ``level`` is also a stream label so panels can count by level.
"""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np

from stackctl.seeding.fields import render_fields
from stackctl.seeding.generate import PhaseTimeline, series_rng
from stackctl.seeding.scenario import LogStream, template_fields

StreamKey = tuple[tuple[str, str], ...]
Entries = dict[StreamKey, list[tuple[int, str]]]


def _format(fmt: str, level: str, msg: str, fields: dict[str, str], ts_ns: int) -> str:
    if fmt == "json":
        return json.dumps({"time": ts_ns // 1_000_000, "level": level, "msg": msg, **fields}, separators=(",", ":"))
    pairs = " ".join(f"{k}={v}" for k, v in fields.items())
    return f'level={level} msg={json.dumps(msg)} {pairs}'.rstrip()


class LogGen:
    """Generates one scenario log stream; ``advance`` covers the grid steps it is given."""

    def __init__(self, spec: LogStream, timeline: PhaseTimeline, random_seed: int, step_s: float) -> None:
        self.spec, self.timeline = spec, timeline
        self.rng = series_rng(random_seed, "logs", repr(sorted(spec.labels.items())))
        self.last_ts: int | None = None
        self.step_ms = int(round(step_s * 1000))
        self.fields = [template_fields(m.template) for m in spec.messages]
        self.by_level: dict[str, list[int]] = {lvl: [i for i, m in enumerate(spec.messages) if m.level == lvl]
                         for lvl in {m.level for m in spec.messages}}

    def _params(self, k: int) -> tuple[float, list[str], np.ndarray]:
        name = self.timeline.name(k)
        over = self.spec.phases.get(name) if name else None
        rate = over.rate if over and over.rate is not None else self.spec.rate
        levels = over.levels if over and over.levels is not None else self.spec.levels
        names = [lvl for lvl, w in levels.items() if w > 0]
        w = np.array([levels[n] for n in names], dtype=float)
        return rate, names, w / w.sum()

    def _line(self, level: str, ts_ns: int) -> str:
        idx = self.by_level[level]
        weights = np.array([self.spec.messages[i].weight for i in idx], dtype=float)
        i = idx[int(self.rng.choice(len(idx), p=weights / weights.sum()))]
        values = render_fields(self.fields[i], self.rng, self.spec.fields)
        msg = self.spec.messages[i].template.format(**values)
        return _format(self.spec.format, self.spec.level_names.get(level, level), msg, values, ts_ns)  # type: ignore[call-overload]

    def advance(self, ts: np.ndarray) -> Entries:
        prev = self.last_ts if self.last_ts is not None else int(ts[0]) - self.step_ms
        self.last_ts = int(ts[-1])
        out: Entries = {}
        starts = np.concatenate(([prev], ts[:-1]))
        for a, b, k in zip(starts, ts, self.timeline.index(ts)):
            rate, names, p = self._params(int(k))
            n = int(self.rng.poisson(rate * (b - a) / 1000.0))
            # Spread lines over the step, in order: Loki wants each stream's entries ascending.
            offsets = np.sort(self.rng.integers(int(a) * 1_000_000 + 1, int(b) * 1_000_000 + 1, size=n))
            for ts_ns in offsets:
                level = names[int(self.rng.choice(len(names), p=p))]
                spelled = self.spec.level_names.get(level, level)  # type: ignore[call-overload]
                key = tuple(sorted({**self.spec.labels, "level": spelled}.items()))
                out.setdefault(key, []).append((int(ts_ns), self._line(level, int(ts_ns))))
        return out


def build_log_generators(streams: Sequence[LogStream], timeline: PhaseTimeline, random_seed: int,
                         step_s: float) -> list[LogGen]:
    return [LogGen(s, timeline, random_seed, step_s) for s in streams]


def merge(entries: Sequence[Entries]) -> Entries:
    out: Entries = {}
    for e in entries:
        for key, values in e.items():
            out.setdefault(key, []).extend(values)
    for values in out.values():
        values.sort(key=lambda v: v[0])
    return out
