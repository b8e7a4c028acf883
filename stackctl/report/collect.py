"""Each panel's data and verdict, from one run of verify's own panel check.

``verify.checks.check_panel`` runs every query of the panel through the Prometheus and Loki
clients we hand it; ours are verify's clients, recording what each query returned, so the
verdict is verify's and the series drawn are exactly the ones it judged. The only change is the
step: the report asks for ~200 points over the dashboard's range (verify needs ~60).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from stackctl.dashboards.panels import Target
from stackctl.report.source import DashboardView, PanelView
from stackctl.verify.checks import CheckResult, check_panel
from stackctl.verify.client import Loki, Prometheus, QueryOutcome

POINTS = 200
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


class _Recording:
    """Mixin: remember every outcome by expression (verify's clients keep the result list)."""

    outcomes: dict[str, QueryOutcome]

    def query_range(self, expr: str, start: float, end: float, step: float) -> QueryOutcome:
        outcome: QueryOutcome = super().query_range(expr, start, end, step)  # type: ignore[misc]
        self.outcomes[expr] = outcome
        return outcome


class RecordingPrometheus(_Recording, Prometheus):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.outcomes = {}


class RecordingLoki(_Recording, Loki):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.outcomes = {}


def report_step(range_s: float, min_interval: float | None = None) -> float:
    """A round step giving about POINTS points (Grafana rounds its intervals the same way)."""
    raw = max(range_s / POINTS, min_interval or 0.0, 1.0)
    return float(next((s for s in _NICE_STEPS if s >= raw), math.ceil(raw)))


def series_name(t: Target, legend: str, labels: Mapping[str, str]) -> str:
    """Grafana's display name: the legendFormat with ``{{label}}`` filled in, else
    ``metric{labels}``, else (no labels at all) the query itself."""
    if legend and legend != "__auto":
        filled = _LEGEND.sub(lambda m: labels.get(m.group(1), ""), legend)
        if filled.strip():
            return filled
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    body = "{" + ", ".join(f'{k}="{v}"' for k, v in shown.items()) + "}" if shown else ""
    return (labels.get("__name__", "") + body) or t.expr


def _float(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def prometheus_series(t: Target, legend: str, result: tuple[Any, ...]) -> list[Series]:
    out = []
    for item in result:
        labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
        pairs = item.get("values") or ([item["value"]] if item.get("value") else [])
        out.append(Series(series_name(t, legend, labels), t.ref_id, labels,
                          tuple(float(p[0]) for p in pairs), tuple(_float(p[1]) for p in pairs)))
    return out


def loki_data(t: Target, legend: str, result: tuple[Any, ...]) -> tuple[list[Series], list[LogLine]]:
    """Loki answers streams (log lines) or matrices (metric queries over logs)."""
    series, lines = [], []
    for item in result:
        if "stream" in item:
            labels = {str(k): str(v) for k, v in (item.get("stream") or {}).items()}
            lines += [LogLine(int(ts) / 1e9, str(line), labels) for ts, line in item.get("values") or []]
        else:
            series += prometheus_series(t, legend, (item,))
    lines.sort(key=lambda ln: ln.time, reverse=True)
    return series, lines


def collect_panel(dv: DashboardView, pv: PanelView, prom: RecordingPrometheus, loki: RecordingLoki | None,
                  loki_skip: str | None) -> PanelData:
    d = dv.dashboard
    step = report_step(d.window.range, pv.display.interval)
    verdict = check_panel(replace(d, window=replace(d.window, step=step)), pv.panel, prom, loki, loki_skip)
    data = PanelData(pv, verdict, step, (d.window.start, d.window.end), dv.timezone)
    for t in pv.panel.targets:
        recorder = prom if t.datasource == "prometheus" else loki if t.datasource == "loki" else None
        outcome = recorder.outcomes.get(t.expr) if recorder is not None else None
        if outcome is None or outcome.error:
            continue
        legend = pv.display.legends.get(t.ref_id, "")
        if t.datasource == "loki":
            series, lines = loki_data(t, legend, outcome.result)
            data.series += series
            data.logs += lines
        else:
            data.series += prometheus_series(t, legend, outcome.result)
    return data


def collect(views: list[DashboardView], prom: RecordingPrometheus, loki: RecordingLoki | None,
            loki_skip: str | None) -> list[list[PanelData]]:
    return [[collect_panel(dv, pv, prom, loki, loki_skip) for pv in dv.panels] for dv in views]
