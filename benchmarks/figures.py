"""Figures: repeated measurements summarised as median/min/max, or a reason there are none.

The JSON shape is the contract the README and CI read: one key per figure holding
``{"median", "min", "max", "runs"}`` (``runs``: every measured value, in order), or
``{"skipped": reason}`` when the machine cannot measure it, or ``{"error": message}`` when
the benchmark itself failed.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable

# name -> (unit, comparison, target); the targets for this 2-core machine.
TARGETS: dict[str, tuple[str, float]] = {
    "cli_startup_s": ("<=", 0.15),
    "time_to_healthy_native_s": ("<=", 3.0),
    "time_to_healthy_docker_s": ("<=", 15.0),
    "time_to_populated_s": ("<=", 5.0),
    "time_to_firing_s": ("<=", 10.0),
    "verify_s": ("<=", 2.0),
    "report_s": ("<=", 3.0),
    "verify_dashboards_s": ("<=", 1.5),  # 10 user dashboards, ~400 panels (issue 14)
    "synth_infer_history_s": ("<=", 5.0),  # inference + 30 min history for 10 dashboards, ~400 panels (issue 15)
    "backfill_vs_promtool_ratio": (">=", 2.5),
    "backfill_vs_ceiling_ratio": (">=", 0.6),
}


@dataclass
class Figure:
    name: str
    runs: list[float] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        if self.error:
            return {"error": self.error}
        if self.skipped or not self.runs:
            return {"skipped": self.skipped or "not measured"}
        return {"median": statistics.median(self.runs), "min": min(self.runs), "max": max(self.runs), "runs": list(self.runs)}

    def verdict(self) -> str:
        """``met`` / ``MISSED`` against the target on the median, blank without a target."""
        if self.name not in TARGETS or not self.runs or self.error:
            return ""
        op, target = TARGETS[self.name]
        value = statistics.median(self.runs)
        ok = value <= target if op == "<=" else value >= target
        return f"{op} {target:g}: {'met' if ok else 'MISSED'}"


class Results:
    """Figures in the order they were declared; benchmarks add runs, skips and errors."""

    def __init__(self, names: Iterable[str]) -> None:
        self.figures = {n: Figure(n) for n in names}

    def add(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.figures[name].runs.append(float(value))

    def skip(self, names: Iterable[str], reason: str) -> None:
        for name in names:
            self.figures[name].skipped = reason

    def fail(self, names: Iterable[str], message: str) -> None:
        for name in names:
            self.figures[name].error = message

    @property
    def failed(self) -> bool:
        return any(f.error for f in self.figures.values())

    def as_json(self) -> dict[str, Any]:
        return {name: f.as_json() for name, f in self.figures.items()}


def _fmt(value: float) -> str:
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def table(results: Results) -> str:
    """A short plain-text table for stderr."""
    rows = [("figure", "median", "min", "max", "n", "target")]
    for f in results.figures.values():
        if f.error or f.skipped or not f.runs:
            why = f"error: {f.error}" if f.error else f"skipped: {f.skipped or 'not measured'}"
            rows.append((f.name, why, "", "", "", ""))
            continue
        rows.append((f.name, _fmt(statistics.median(f.runs)), _fmt(min(f.runs)), _fmt(max(f.runs)), str(len(f.runs)), f.verdict()))
    widths = [max(len(r[i]) for r in rows if r[2] or i == 0) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        if not r[2] and r is not rows[0]:
            lines.append(f"{r[0]:<{widths[0]}}  {r[1]}")  # a skip/error reason spans the row
        else:
            lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return "\n".join(lines)
