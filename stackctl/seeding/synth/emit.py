"""The model (and the alert solutions) as an ordinary scenario file, commented.

Counters and histograms become ``rate:`` plus per-series ``weight:`` (the engine shares the rate
out by weight, so a weight is the series' own events per second); gauges a per-series
``distribution:``. Changes an alert solution makes live in the last phase (``firing``) or in
the baseline itself (``quiet``). The text is meant to be read, edited and committed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from stackctl.seeding.scenario import format_duration
from stackctl.seeding.synth.alerts import Outcome, Tweaks
from stackctl.seeding.synth.evaluate import Tweak
from stackctl.seeding.synth.model import MetricModel, SynthModel

DEFAULT_HISTORY = 1800.0
FIRING_PHASE = "firing"


@dataclass
class Plan:
    """What to write: the model, baseline tweaks (quiet solutions), last-phase tweaks (firing)."""

    model: SynthModel
    name: str
    base: Tweaks = field(default_factory=dict)
    firing: Tweaks = field(default_factory=dict)
    hold_s: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    now: float = 0.0
    state: str = "quiet"
    files: list[str] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)  # the ``logs:`` streams the LogQL targets read


def _num(x: float) -> float | int:
    if not math.isfinite(x):
        return 0
    if float(x).is_integer() and abs(x) < 1e15:
        return int(x)
    return float(f"{x:.6g}")


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: 10x faster on big inputs


def _flow(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_DUMPER, default_flow_style=True, width=10**9, sort_keys=False).strip()


def _gauge_dist(m: MetricModel, level: float, now: float, slope: float = 0.0) -> dict[str, Any]:
    p = m.profile
    if p.from_now:
        level = round(now + level)  # a timestamp relative to the seeding instant
    if slope:
        flat = _gauge_dist(m, level, now)
        floor = p.low if p.low is not None else None
        return {**flat, "slope": _num(slope), **({"min": _num(floor)} if floor is not None else {})}
    if p.spread == 0 or level == 0:
        return {"kind": "constant", "value": _num(level)}
    d: dict[str, Any] = {"kind": "normal", "mean": _num(level), "stddev": _num(abs(level) * p.spread)}
    high = m.high if m.high is not None else p.high
    if p.low is not None:
        d["min"] = _num(p.low)
    if high is not None:
        d["max"] = _num(max(high, level))
    if p.integer:
        d["integer"] = True
    return d


def _latency(m: MetricModel, factor: float) -> dict[str, Any]:
    return {"kind": "lognormal", "median": _num(m.profile.median * factor), "p95": _num(m.profile.p95 * factor)}


def _level(t: Tweak, level: float, kind: str) -> float:
    if kind == "counter" or kind == "histogram":
        return level * t.rate
    return t.level(level)


def _metric_yaml(m: MetricModel, plan: Plan) -> list[str]:
    # Series cannot vanish in one phase only: what absent() needs missing is left out throughout.
    kept = [(i, s) for i, s in enumerate(m.series)
            if not (plan.base.get((m.name, i)) or Tweak()).drop and not (plan.firing.get((m.name, i)) or Tweak()).drop]
    if not kept:
        return [f"  # {m.name}: left out: the solution of an absent() alert needs it missing (or of an alert "
                "that is the only reader of this metric)"]
    srcs = sorted(m.sources)
    lines = [f"  # {m.name}: {m.kind}; {m.profile.why}. Read by {', '.join(srcs[:3])}"
             + (f" and {len(srcs) - 3} more" if len(srcs) > 3 else "")]
    if m.whole:
        lines.append(f"  # drawn below {m.whole} (a part of it)")
    kind = "gauge" if m.kind == "info" else m.kind
    lines += [f"  - name: {m.name}", f"    type: {kind}"]
    seen: set[tuple[tuple[str, str], ...]] = set()
    series: list[str] = []
    base_levels, phase_levels = [], []
    for i, s in kept:
        key = tuple(sorted(s.labels.items()))
        if key in seen:
            continue
        seen.add(key)
        bt = plan.base.get((m.name, i)) or Tweak()
        ft = plan.firing.get((m.name, i))
        level = _level(bt, s.level, m.kind)
        base_levels.append(level)
        spec: dict[str, Any] = {"labels": {k: v for k, v in s.labels.items() if not k.startswith("__")}}
        phase: dict[str, Any] = {}
        fl = level
        if ft is not None and not ft.drop:
            fl = _level(ft, s.level, m.kind)
        phase_levels.append(fl)
        if m.kind in ("counter", "histogram"):
            spec["weight"] = _num(level)
            if fl != level:
                phase["weight"] = _num(fl)
        if m.kind in ("gauge", "info"):
            fslope = ft.slope if ft is not None else bt.slope
            spec["distribution"] = _gauge_dist(m, level, plan.now, bt.slope)
            if fl != level or fslope != bt.slope:
                phase["distribution"] = _gauge_dist(m, fl, plan.now, fslope)
        if m.kind == "histogram":
            if bt.value != 1.0:
                spec["distribution"] = _latency(m, bt.value)
            if ft is not None and ft.value != bt.value:
                phase["distribution"] = _latency(m, ft.value)
        if phase:
            spec["phases"] = {FIRING_PHASE: phase}
        series.append(f"      - {_flow(spec)}")
    if m.kind in ("counter", "histogram"):
        total = sum(base_levels)
        lines.append(f"    rate: {_num(total)}")
        if total <= 0:
            series = [re.sub(r"weight: 0\b", "weight: 1", x) for x in series]
        if sum(phase_levels) != total:
            lines.append(f"    phases: {_flow({FIRING_PHASE: {'rate': _num(sum(phase_levels))}})}")
    if m.kind == "histogram":
        lines.append(f"    buckets: {_flow([_num(b) for b in m.buckets])}")
        lines.append(f"    distribution: {_flow(_latency(m, 1.0))}")
    lines.append("    series:")
    return lines + series


def scenario_text(plan: Plan) -> str:
    """The scenario file: header comments, the scenario, and what could not be solved."""
    model = plan.model
    history = DEFAULT_HISTORY
    if plan.hold_s:
        history = max(history, math.ceil((plan.hold_s + 600) / 600) * 600)
    series = sum(len(m.series) for m in model.metrics.values())
    lines = [f"# Synthesized by stackctl from {len(plan.files)} file(s): what their queries read,",
             f"# {len(model.metrics)} metrics in {series} series, values by the metrics' naming conventions.",
             "# Edit freely: it is an ordinary scenario (stackctl seed --scenario THIS_FILE).",
             f"name: {plan.name}",
             "description: |",
             f"  {_description(plan)}",
             f"sources: {_flow(plan.files)}",
             f"history: {format_duration(history)}",
             "step: 15s"]
    if plan.hold_s:
        lines += ["# The alert conditions hold for the last phase (for: + the longest range + a margin).",
                  "phases:",
                  f"  - {{name: healthy, duration: {format_duration(history - plan.hold_s)}}}",
                  f"  - {{name: {FIRING_PHASE}, duration: {format_duration(plan.hold_s)}}}"]
    if model.recorded:
        lines.append("# Recorded by rules, not seeded (Prometheus computes them from the inputs): "
                     + ", ".join(sorted(model.recorded)))
    lines.append("metrics:" if model.metrics else "metrics: []")
    for m in sorted(model.metrics.values(), key=lambda x: x.name):
        lines += _metric_yaml(m, plan)
    if plan.logs:
        lines += ["# Log streams the LogQL targets select (written to Loki when it runs).", "logs:"]
        lines += [f"  - {_flow(doc)}" for doc in plan.logs]
    lines += _alert_lines(plan)
    return "\n".join(lines) + "\n"


def _description(plan: Plan) -> str:
    firing = [o.rule.name for o in plan.outcomes if o.state == "firing" and o.solved]
    if firing:
        return f"Synthesized traffic in which {', '.join(firing)} fire(s); every other alert stays quiet."
    return "Synthesized healthy traffic for the given dashboards and rules: every alert stays quiet."


def expected_entries(firing: list[Outcome]) -> list[tuple[dict[str, Any], str]]:
    """One ``expected_alerts`` entry per rule name + static labels (Prometheus accepts several
    rules of one name: a warning/critical pair, the same alert in two files); the rules of one
    key merge, the weaker state (pending) wins."""
    names: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for o in firing:
        names.setdefault(o.rule.name, set()).add(o.rule.labels)
    merged: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[dict[str, Any], str]] = {}
    for o in firing:
        labels = o.rule.labels if len(names[o.rule.name]) > 1 else ()
        state = "firing" if o.rule.for_s == 0 else "pending"
        key = (o.rule.name, labels)
        if key in merged:
            entry, note = merged[key]
            entry["state"] = "pending" if "pending" in (entry["state"], state) else "firing"
            continue
        # a group evaluated every 2m30s may take two of its intervals to see the condition (and for:)
        within = max(2, math.ceil((2 * o.rule.interval_s + 30) / 60))
        entry = {"name": o.rule.name, "state": state, "within": f"{within}m"}
        if labels:
            entry["labels"] = dict(labels)
        merged[key] = (entry, o.note)
    return list(merged.values())


def _alert_lines(plan: Plan) -> list[str]:
    lines: list[str] = []
    firing = [o for o in plan.outcomes if o.state == "firing" and o.solved]
    if firing:
        lines.append("expected_alerts:")
        lines += [f"  - {_flow(entry)}  # {note}" for entry, note in expected_entries(firing)]
    unsolved = [o for o in plan.outcomes if not o.solved]
    if unsolved:
        lines.append("# Not solved (the scenario does not promise these):")
        lines += [f"#   {o.rule.name} ({o.state}): {o.note}" for o in unsolved]
    quiet = [o for o in plan.outcomes if o.state == "quiet" and o.solved and o.note != "holds with the inferred values"]
    if quiet:
        lines.append("# Kept quiet by: " + "; ".join(f"{o.rule.name}: {o.note}" for o in quiet))
    if plan.skipped:
        lines.append("# Not read:")
        lines += [f"#   {s}" for s in plan.skipped[:40]]
    return lines
