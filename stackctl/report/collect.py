"""Each panel's data and verdict, from verify's own queries and panel check.

``verify.dashboards.run_queries`` sends every distinct query once, concurrently, as ``stackctl
verify`` does (at most 200 points each); ``judge_panel`` gives each panel copy verify's verdict
from those outcomes, and the series drawn are the ``result`` of the very outcomes it judged: the
badge, the chart and ``stackctl verify`` never disagree. (``check_panel``, which queries one
panel at Grafana's own step, would cost a request per target and could, at the edges, judge
differently from ``verify``.)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from stackctl.report.colors import css
from stackctl.report.overrides import style_for
from stackctl.report.source import DashboardView, PanelView
from stackctl.verify.checks import CheckResult
from stackctl.verify.client import Loki, Prometheus
from stackctl.verify.dashboards import Outcomes, judge_panel, run_queries, target_outcome

_LEGEND = re.compile(r"\{\{\s*([^}\s]+)\s*\}\}")


@dataclass(frozen=True)
class Series:
    name: str
    ref_id: str
    labels: Mapping[str, str]
    times: tuple[float, ...]  # epoch seconds
    values: tuple[float, ...]  # NaN where Prometheus sent a non-number
    color: str | None = None  # an override's fixed colour


@dataclass(frozen=True)
class LogLine:
    time: float
    line: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class Event:
    """An annotation over [start, end] (a point when equal), Grafana's way for Prometheus: the
    times its query's series are non-zero, consecutive steps merged."""

    start: float
    end: float
    name: str
    color: str


@dataclass
class PanelData:
    view: PanelView
    verdict: CheckResult
    step: float
    window: tuple[float, float]  # the panel's time range, epoch seconds
    timezone: str = ""  # the dashboard's: utc, or the viewer's (browser)
    series: list[Series] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # the dashboard's annotations, drawn on time series


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


def collect_panel(dv: DashboardView, pv: PanelView, outcomes: Outcomes, loki: Loki | None, loki_skip: str | None) -> PanelData:
    inst = pv.instance
    verdict = judge_panel(dv.resolved, inst, outcomes, loki, loki_skip)
    ran = [(t, target_outcome(t, outcomes)) for t in inst.targets if not t.target.hidden]
    first = inst.targets[0] if inst.targets else None
    window = (first.start, first.end) if first else (dv.time_range.start, dv.time_range.end)
    data = PanelData(pv, verdict, first.step if first else 0.0, window, dv.timezone)
    for t, outcome in ran:
        if outcome is None or outcome.error:
            continue
        legend = pv.display.legends.get(t.target.ref_id) or t.target.legend or ""
        if t.kind == "loki":
            series, lines = loki_data(t.expr, t.target.ref_id, legend, outcome.result)
            data.series += series
            data.logs += lines
        else:
            data.series += prometheus_series(t.expr, t.target.ref_id, legend, outcome.result)
    data.series = styled(data.series, pv.display.overrides)
    spaced = next((s for s in data.series if len(s.times) > 1), None)
    if spaced is not None:  # the step verify asked for (at most 200 points), not the panel's own
        data.step = spaced.times[1] - spaced.times[0]
    return data


def styled(series: list[Series], overrides: tuple[Any, ...]) -> list[Series]:
    """The panel's overrides applied: renamed, recoloured, negated (negative-Y) or hidden series."""
    if not overrides:
        return series
    out = []
    for s in series:
        style = style_for(overrides, s.name, s.ref_id)
        if style.hidden:
            continue
        values = tuple(-v for v in s.values) if style.negative else s.values
        out.append(replace(s, name=style.name or s.name, color=style.color or s.color, values=values))
    return out


def collect(views: list[DashboardView], prom: Prometheus, loki: Loki | None, loki_skip: str | None) -> list[list[PanelData]]:
    """Every panel of every dashboard, from one concurrent run of their distinct queries."""
    outcomes = run_queries([dv.resolved for dv in views], prom, loki)
    out = []
    for dv in views:
        panels = _shared(dv, [collect_panel(dv, pv, outcomes, loki, loki_skip) for pv in dv.panels])
        events = annotation_events(dv, outcomes)
        for pd in panels:
            if pd.view.kind == "timeseries":
                pd.events = events
        out.append(panels)
    return out


def _shared(dv: DashboardView, panels: list[PanelData]) -> list[PanelData]:
    """``-- Dashboard --`` panels show another panel's results (Grafana runs no query for them):
    draw that panel's series; the verdict stays verify's (skipped, naming the source)."""
    by_id = {pd.view.instance.panel.id: pd for pd in panels if pd.view.instance.panel.id is not None}
    for pd in panels:
        inst = pd.view.instance
        if inst.panel.datasource.type != "dashboard":
            continue
        source_id = next((t.raw.get("panelId") for t in inst.panel.targets if t.raw.get("panelId") is not None), None)
        source = by_id.get(source_id) if isinstance(source_id, int) else None
        if source is not None and source is not pd:
            pd.series, pd.logs, pd.step, pd.window = list(source.series), list(source.logs), source.step, source.window
    return panels


def annotation_events(dv: DashboardView, outcomes: Outcomes, limit: int = 200) -> list[Event]:
    events: list[Event] = []
    for a in dv.resolved.annotations:
        outcome = target_outcome(a, outcomes)
        if outcome is None or outcome.error:
            continue
        color = css(a.annotation.raw.get("iconColor"), "#F2CC0C")
        title = str(a.annotation.raw.get("titleFormat") or "")
        for item in outcome.result:
            labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
            name = _LEGEND.sub(lambda m: labels.get(m.group(1), ""), title).strip() or a.annotation.name
            times = [float(t) for t, v in item.get("values") or [] if _float(v) not in (0.0,) and not math.isnan(_float(v))]
            start = prev = None
            for t in times:
                if start is None:
                    start = prev = t
                elif prev is not None and t - prev > a.step * 1.5:
                    events.append(Event(start, prev, name, color))
                    start = t
                prev = t
            if start is not None and prev is not None:
                events.append(Event(start, prev, name, color))
    return events[:limit]
