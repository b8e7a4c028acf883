"""Each panel's data and verdict, from one run of verify's own panel check.

``verify.dashboards.check_panel`` runs every query of the panel copy through the Prometheus
and Loki clients we hand it; ours are verify's clients, recording what each query returned, so
the verdict is verify's and the series drawn are exactly the ones it judged. The only change:
a query Grafana would ask more than MAX_POINTS points of is asked fewer (a coarser step).
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from stackctl.dashboards import PanelInstance
from stackctl.report.source import DashboardView, PanelView
from stackctl.verify.checks import CheckResult
from stackctl.verify.client import Loki, Prometheus, QueryOutcome
from stackctl.verify.dashboards import check_panel

MAX_POINTS = 300
WORKERS = 8  # as verify: Prometheus answers small queries concurrently
_NICE_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_LEGEND = re.compile(r"\{\{\s*([^}\s]+)\s*\}\}")


@dataclass(frozen=True)
class Series:
    name: str
    ref_id: str
    labels: Mapping[str, str]
    times: tuple[float, ...]  # epoch seconds
    values: tuple[float, ...]  # NaN where Prometheus sent a non-number


@dataclass(frozen=True)
class LogLine:
    time: float
    line: str
    labels: Mapping[str, str]


@dataclass
class PanelData:
    view: PanelView
    verdict: CheckResult
    step: float
    window: tuple[float, float]  # the dashboard's default range, epoch seconds
    timezone: str = ""  # the dashboard's: utc, or the viewer's (browser)
    series: list[Series] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)


Key = tuple[str, float, float, float]


class _Recording:
    """Mixin: remember every outcome by (expr, start, end, step); verify's clients keep the
    result list in the outcome."""

    outcomes: dict[Key, QueryOutcome]

    def query_range(self, expr: str, start: float, end: float, step: float) -> QueryOutcome:
        outcome: QueryOutcome = super().query_range(expr, start, end, step)  # type: ignore[misc]
        self.outcomes[(expr, start, end, step)] = outcome
        return outcome


class RecordingPrometheus(_Recording, Prometheus):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.outcomes = {}


class RecordingLoki(_Recording, Loki):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.outcomes = {}


def report_step(range_s: float, step: float) -> float:
    """Grafana's ``step``, or a round coarser one when it would give over MAX_POINTS points."""
    if range_s / max(step, 1e-3) <= MAX_POINTS:
        return step
    raw = range_s / MAX_POINTS
    return float(next((s for s in _NICE_STEPS if s >= raw), math.ceil(raw)))


def series_name(expr: str, legend: str, labels: Mapping[str, str]) -> str:
    """Grafana's display name: the legendFormat with ``{{label}}`` filled in, else
    ``metric{labels}``, else (no labels at all) the query itself."""
    if legend and legend != "__auto":
        filled = _LEGEND.sub(lambda m: labels.get(m.group(1), ""), legend)
        if filled.strip():
            return filled
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    body = "{" + ", ".join(f'{k}="{v}"' for k, v in shown.items()) + "}" if shown else ""
    return (labels.get("__name__", "") + body) or expr


def _float(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def prometheus_series(expr: str, ref_id: str, legend: str, result: tuple[Any, ...]) -> list[Series]:
    out = []
    for item in result:
        labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
        pairs = item.get("values") or ([item["value"]] if item.get("value") else [])
        out.append(Series(series_name(expr, legend, labels), ref_id, labels,
                          tuple(float(p[0]) for p in pairs), tuple(_float(p[1]) for p in pairs)))
    return out


def loki_data(expr: str, ref_id: str, legend: str, result: tuple[Any, ...]) -> tuple[list[Series], list[LogLine]]:
    """Loki answers streams (log lines) or matrices (metric queries over logs)."""
    series, lines = [], []
    for item in result:
        if "stream" in item:
            labels = {str(k): str(v) for k, v in (item.get("stream") or {}).items()}
            lines += [LogLine(int(ts) / 1e9, str(line), labels) for ts, line in item.get("values") or []]
        else:
            series += prometheus_series(expr, ref_id, legend, (item,))
    lines.sort(key=lambda ln: ln.time, reverse=True)
    return series, lines


def _restepped(inst: PanelInstance) -> PanelInstance:
    return replace(inst, targets=tuple(replace(t, step=report_step(t.end - t.start, t.step)) for t in inst.targets))


def collect_panel(dv: DashboardView, pv: PanelView, prom: RecordingPrometheus, loki: RecordingLoki | None,
                  loki_skip: str | None) -> PanelData:
    inst = _restepped(pv.instance)
    verdict = check_panel(dv.resolved, inst, prom, loki, loki_skip)
    first = next(iter(inst.targets), None)
    window = (first.start, first.end) if first else (dv.time_range.start, dv.time_range.end)
    data = PanelData(pv, verdict, first.step if first else 0.0, window, dv.timezone)
    for t in inst.targets:
        recorder = prom if t.kind == "prometheus" else loki if t.kind == "loki" else None
        outcome = recorder.outcomes.get((t.expr, t.start, t.end, t.step)) if recorder is not None else None
        if outcome is None or outcome.error:
            continue
        legend = pv.display.legends.get(t.target.ref_id) or t.target.legend or ""
        if t.kind == "loki":
            series, lines = loki_data(t.expr, t.target.ref_id, legend, outcome.result)
            data.series += series
            data.logs += lines
        else:
            data.series += prometheus_series(t.expr, t.target.ref_id, legend, outcome.result)
    return data


def collect(views: list[DashboardView], prom: RecordingPrometheus, loki: RecordingLoki | None,
            loki_skip: str | None) -> list[list[PanelData]]:
    """Every panel of every dashboard, queried concurrently, in page order."""
    jobs = [(dv, pv) for dv in views for pv in dv.panels]
    with ThreadPoolExecutor(WORKERS) as pool:
        done = list(pool.map(lambda job: collect_panel(job[0], job[1], prom, loki, loki_skip), jobs))
    out: list[list[PanelData]] = []
    for dv in views:
        out.append(done[:len(dv.panels)])
        done = done[len(dv.panels):]
    return out
