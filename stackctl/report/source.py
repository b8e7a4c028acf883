"""The report's narrow view of a dashboard: verify's panel copies (variables and macros
resolved, repeats expanded by the one dashboard model) plus what drawing needs (grid
position, row, unit, thresholds, legend).

This is the one module that knows the dashboard model's shape; the rest of the report reads
``DashboardView`` and ``PanelView``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from stackctl.dashboards import PanelInstance
from stackctl.dashboards.formats import Value, interpolate
from stackctl.dashboards.timing import TimeRange, parse_duration
from stackctl.report import legacy
from stackctl.report.colors import Thresholds, legacy_thresholds, thresholds_from
from stackctl.verify.dashboards import ResolvedDashboard

GRID_COLUMNS = 24
DEFAULT_SIZE = (12, 8)  # a panel with no gridPos: half the width, Grafana's default height
GRID_DEFAULT_SIZE = (6, 3)  # Grafana's PanelModel default w, h for a gridPos missing them


@dataclass(frozen=True)
class Grid:
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Display:
    """How a panel shows its values (``fieldConfig.defaults`` and ``options``)."""

    unit: str = "short"
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    thresholds: Thresholds = field(default_factory=lambda: thresholds_from({}))
    color_mode: str = "palette-classic"  # fieldConfig color.mode
    fixed_color: str | None = None
    calc: str = "lastNotNull"  # reduceOptions.calcs[0]
    legends: Mapping[str, str] = field(default_factory=dict)  # refId -> legendFormat
    options: Mapping[str, Any] = field(default_factory=dict)  # the panel's raw ``options``
    text: str = ""  # a text panel's content
    interval: float | None = None  # the panel's min interval (``interval: 1m``), seconds
    custom: Mapping[str, Any] = field(default_factory=dict)  # fieldConfig.defaults.custom (fill, stacking, ...)
    overrides: tuple[Any, ...] = ()  # fieldConfig.overrides, as written
    mappings: tuple[Any, ...] = ()  # fieldConfig.defaults.mappings (value -> text, colour)
    no_value: str = ""  # fieldConfig.defaults.noValue: the text for no value


@dataclass(frozen=True)
class PanelView:
    instance: PanelInstance  # verify's panel copy: title, type, resolved targets
    grid: Grid
    display: Display
    kind: str  # what to draw: timeseries, stat, gauge, bargauge, table, heatmap, histogram, piechart, logs, text, alertlist, none
    shown_title: str = ""  # the title as Grafana shows it: variables replaced by their text

    @property
    def title(self) -> str:
        return self.shown_title or self.instance.title

    @property
    def type(self) -> str:
        return self.instance.panel.type

    @property
    def legend_hidden(self) -> bool:
        """``options.legend`` hidden (``showLegend: false``, ``displayMode: hidden``) or a legacy
        graph's ``legend.show: false``: Grafana draws no legend."""
        options = self.display.options.get("legend")
        if isinstance(options, dict):
            return options.get("showLegend") is False or options.get("displayMode") == "hidden"
        legacy = self.instance.panel.raw.get("legend")
        return isinstance(legacy, dict) and legacy.get("show") is False


@dataclass(frozen=True)
class Section:
    """Panels under one row heading (``title`` None: those above the first row)."""

    title: str | None
    panels: tuple[PanelView, ...]
    collapsed: bool = False


@dataclass(frozen=True)
class DashboardView:
    resolved: ResolvedDashboard
    sections: tuple[Section, ...]
    variables: Mapping[str, str]  # each variable's saved selection
    time_range: TimeRange  # the dashboard's default range
    timezone: str = ""

    @property
    def title(self) -> str:
        return self.resolved.title

    @property
    def panels(self) -> list[PanelView]:
        return [p for s in self.sections for p in s.panels]


_KINDS = {"graph": "timeseries", "timeseries": "timeseries", "trend": "timeseries", "xychart": "timeseries",
          "state-timeline": "states", "status-history": "states", "barchart": "bargauge",
          "singlestat": "stat", "stat": "stat", "gauge": "gauge", "bargauge": "bargauge", "table": "table",
          "table-old": "table", "heatmap": "heatmap", "histogram": "histogram", "piechart": "piechart",
          "logs": "logs", "text": "text", "alertlist": "alertlist"}


def kind_of(panel_type: str, has_targets: bool) -> str:
    return _KINDS.get(panel_type, "timeseries" if has_targets else "none")


def _number(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def display_of(raw: Mapping[str, Any]) -> Display:
    defaults = _dict(_dict(raw.get("fieldConfig")).get("defaults"))
    options = {**legacy.stat_options_of(raw), **_dict(raw.get("options"))}
    legacy_unit = ((raw.get("yaxes") or [{}])[0] or {}).get("format") if isinstance(raw.get("yaxes"), list) else raw.get("format")
    color = _dict(defaults.get("color"))
    legacy_axis = _dict((raw.get("yaxes") or [{}])[0]) if isinstance(raw.get("yaxes"), list) else {}
    calcs = _dict(options.get("reduceOptions")).get("calcs")
    legacy_calc = {"current": "lastNotNull", "avg": "mean", "total": "sum"}.get(str(raw.get("valueName", "")), raw.get("valueName"))
    thresholds = (legacy_thresholds(raw["thresholds"], raw.get("colors") or [])
                  if raw.get("type") == "singlestat" and raw.get("thresholds") else thresholds_from(defaults))
    default_mode = "thresholds" if raw.get("type") in ("stat", "gauge", "bargauge", "singlestat", "state-timeline",
                                                       "status-history") else "palette-classic"
    return Display(
        unit=str(defaults.get("unit") or legacy_unit or "short"),
        decimals=_int(defaults.get("decimals", raw.get("decimals"))),
        min=_number(defaults.get("min", legacy_axis.get("min"))), max=_number(defaults.get("max", legacy_axis.get("max"))),
        thresholds=thresholds,
        color_mode=str(color.get("mode") or default_mode),
        fixed_color=color.get("fixedColor"),
        calc=str((calcs or [legacy_calc or "lastNotNull"])[0]),
        legends={str(t["refId"]): str(t.get("legendFormat") or "") for t in raw.get("targets") or [] if isinstance(t, dict) and t.get("refId")},
        options=options,
        text=str(options.get("content") or raw.get("content") or ""),
        interval=parse_duration(raw.get("interval")),
        custom={**legacy.custom_of(raw), **_dict(defaults.get("custom"))},
        overrides=tuple(legacy.overrides_of(raw)) + tuple(_dict(raw.get("fieldConfig")).get("overrides") or ()),
        mappings=(tuple(defaults.get("mappings") or ()) if isinstance(defaults.get("mappings"), list) else ())
        + tuple(legacy.mappings_of(raw)),
        no_value=str(defaults.get("noValue") or ""),
    )


def _grid(raw: Mapping[str, Any]) -> Grid | None:
    """``gridPos``, or None when the panel has no place (legacy rows, v2 auto grids: they flow)."""
    pos = raw.get("gridPos")
    if not isinstance(pos, dict) or pos.get("y") is None:
        return None
    # a saved position missing a key (grafonnet leaves out x: 0) gets Grafana's panel default
    w = max(1, min(GRID_COLUMNS, _int(pos.get("w")) or GRID_DEFAULT_SIZE[0]))
    x = max(0, min(GRID_COLUMNS - w, _int(pos.get("x")) or 0))
    return Grid(x, max(0, _int(pos.get("y")) or 0), w, max(1, _int(pos.get("h")) or GRID_DEFAULT_SIZE[1]))


def _repeat_grid(base: Grid, raw: Mapping[str, Any], index: int, count: int) -> Grid:
    """Grafana's placement of repeat copy ``index`` of ``count``: side by side (at most
    ``maxPerRow``, default 4, per line) or, for ``repeatDirection: v``, one under the other."""
    if count <= 1:
        return base
    if raw.get("repeatDirection") == "v":
        return Grid(base.x, base.y + index * base.h, base.w, base.h)
    per_row = max(1, _int(raw.get("maxPerRow")) or 4)
    w = max(1, max(GRID_COLUMNS // count, GRID_COLUMNS // per_row))
    per_line = max(1, GRID_COLUMNS // w)
    return Grid((index % per_line) * w, base.y + (index // per_line) * base.h, w, base.h)


class _Flow:
    """Positions for panels saved without ``gridPos`` (the legacy ``rows[]`` layout): left to
    right by their width, a new line when the next one does not fit."""

    def __init__(self) -> None:
        self.x = self.y = self.line_h = 0

    def place(self, width: int, raw: Mapping[str, Any]) -> Grid:
        w = max(1, min(GRID_COLUMNS, width))
        height = parse_duration(str(raw.get("height") or "").replace("px", "")) if raw.get("height") else None
        pos = _dict(raw.get("gridPos"))
        h = max(3, math.ceil(height / 38)) if height else (_int(pos.get("h")) or DEFAULT_SIZE[1])
        if self.x + w > GRID_COLUMNS:
            self.x, self.y, self.line_h = 0, self.y + self.line_h, 0
        grid = Grid(self.x, self.y, w, h)
        self.x, self.line_h = self.x + w, max(self.line_h, h)
        return grid


def _shown_title(inst: PanelInstance, variables: Mapping[str, Value]) -> str:
    """Grafana's panel title: ``$var`` replaced by its text (a repeat copy's own value), no suffix;
    a title without variables keeps verify's name (repeat copies stay told apart)."""
    if "$" not in inst.panel.title:
        return inst.title
    scope = {k: v if isinstance(v, Value) else Value((str(v),)) for k, v in inst.scope.items()}
    return interpolate(inst.panel.title, {**variables, **scope}, "text")


def _views(instances: list[PanelInstance], variables: Mapping[str, Value]) -> list[PanelView]:
    flow = _Flow()
    counts: dict[int, int] = {}
    for inst in instances:
        counts[id(inst.panel)] = counts.get(id(inst.panel), 0) + 1
    seen: dict[int, int] = {}
    views = []
    for inst in instances:
        raw = inst.panel.raw
        i = seen[id(inst.panel)] = seen.get(id(inst.panel), -1) + 1
        base = _grid(raw) or flow.place(inst.panel.width, raw)
        runnable = any(not t.target.hidden for t in inst.targets)
        views.append(PanelView(inst, _repeat_grid(base, raw, i, counts[id(inst.panel)]), display_of(raw),
                               kind_of(inst.panel.type, runnable), _shown_title(inst, variables)))
    return views


def _collapsed_rows(raw: Mapping[str, Any]) -> set[str]:
    return {str(p.get("title") or "") for p in raw.get("panels") or [] if isinstance(p, dict) and p.get("type") == "row" and p.get("collapsed")}


def _shown(rd: ResolvedDashboard, title: str | None, scope: Mapping[str, str]) -> str | None:
    """A row title as Grafana shows it: its variables replaced (``$instance`` -> the row copy's value)."""
    if not title or "$" not in title:
        return title
    values = {**rd.variables, **{k: Value((v,)) for k, v in scope.items()}}
    return interpolate(title, values, "glob")


def _saved_values(rd: ResolvedDashboard) -> dict[str, str]:
    """Each variable's selection as the panels used it (resolved against Prometheus), else as saved."""
    def shown(name: str, saved: tuple[str, ...]) -> str:
        value = rd.variables.get(name)
        if value is None:
            return ",".join(saved) or "(none)"
        if value.all:
            return "All"
        return ",".join(value.texts or value.values) or "(none)"
    return {v.name: shown(v.name, tuple(v.current)) for v in rd.dashboard.variables if v.type not in ("constant", "datasource")}


def view(rd: ResolvedDashboard, now: float) -> DashboardView:
    """``rd`` (verify's resolved dashboard) grouped into rows, with each panel's display settings."""
    groups: list[tuple[tuple[str | None, str], list[PanelInstance]]] = []
    for inst in rd.panels:
        key = (inst.panel.row, inst.scope.get(inst.panel.row_repeat or "", ""))  # a repeated row: one heading per copy
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(inst)
    collapsed = _collapsed_rows(rd.dashboard.raw)
    sections = tuple(Section(_shown(rd, row, insts[0].scope), tuple(_views(insts, rd.variables)), row in collapsed)
                     for (row, _copy), insts in groups)
    d = rd.dashboard
    return DashboardView(rd, sections, _saved_values(rd), TimeRange.parse(d.time_from, d.time_to, now),
                         str(d.raw.get("timezone") or ""))
