"""The report's narrow view of a dashboard: verify's panels (queries resolved, verdicts
computed by verify) plus what drawing needs (grid position, row, unit, thresholds, legend).

This is the one module that knows where the dashboard model lives: ``stackctl.dashboards``'s
panels walker gives each panel's queries in ``iter_panels`` order; the same walk over the raw
JSON gives the display settings. Switching to a richer model only changes this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from stackctl.dashboards import panels as model
from stackctl.dashboards.files import read_json, resolve_inputs
from stackctl.report.colors import Thresholds, legacy_thresholds, thresholds_from

GRID_COLUMNS = 24
DEFAULT_SIZE = (12, 8)  # a panel with no gridPos: half the width, Grafana's default height


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


@dataclass(frozen=True)
class PanelView:
    panel: model.Panel  # verify's panel: title, type, resolved targets
    grid: Grid
    display: Display
    kind: str  # what to draw: timeseries, stat, gauge, bargauge, table, heatmap, histogram, piechart, logs, text, alertlist, none


@dataclass(frozen=True)
class Section:
    """Panels under one row heading (``title`` None: those above the first row)."""

    title: str | None
    panels: tuple[PanelView, ...]
    collapsed: bool = False


@dataclass(frozen=True)
class DashboardView:
    dashboard: model.Dashboard
    sections: tuple[Section, ...]
    variables: Mapping[str, str]
    timezone: str = ""

    @property
    def panels(self) -> list[PanelView]:
        return [p for s in self.sections for p in s.panels]


_KINDS = {"graph": "timeseries", "timeseries": "timeseries", "trend": "timeseries", "xychart": "timeseries",
          "state-timeline": "timeseries", "status-history": "timeseries", "barchart": "bargauge",
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
    options = _dict(raw.get("options"))
    legacy_unit = ((raw.get("yaxes") or [{}])[0] or {}).get("format") if isinstance(raw.get("yaxes"), list) else raw.get("format")
    color = _dict(defaults.get("color"))
    calcs = _dict(options.get("reduceOptions")).get("calcs")
    legacy_calc = {"current": "lastNotNull", "avg": "mean", "total": "sum"}.get(str(raw.get("valueName", "")), raw.get("valueName"))
    thresholds = (legacy_thresholds(raw["thresholds"], raw.get("colors") or [])
                  if raw.get("type") == "singlestat" and raw.get("thresholds") else thresholds_from(defaults))
    default_mode = "thresholds" if raw.get("type") in ("stat", "gauge", "bargauge", "singlestat") else "palette-classic"
    return Display(
        unit=str(defaults.get("unit") or legacy_unit or "short"),
        decimals=_int(defaults.get("decimals", raw.get("decimals"))),
        min=_number(defaults.get("min")), max=_number(defaults.get("max")),
        thresholds=thresholds,
        color_mode=str(color.get("mode") or default_mode),
        fixed_color=color.get("fixedColor"),
        calc=str((calcs or [legacy_calc or "lastNotNull"])[0]),
        legends={str(t.get("refId", "")): str(t.get("legendFormat") or "") for t in raw.get("targets") or [] if isinstance(t, dict)},
        options=options,
        text=str(options.get("content") or raw.get("content") or ""),
        interval=model.parse_seconds(str(raw.get("interval") or "")),
        custom=_dict(defaults.get("custom")),
    )


def _grid(raw: Mapping[str, Any]) -> Grid | None:
    pos = raw.get("gridPos")
    if not isinstance(pos, dict):
        return None
    w = max(1, min(GRID_COLUMNS, _int(pos.get("w")) or DEFAULT_SIZE[0]))
    x = max(0, min(GRID_COLUMNS - w, _int(pos.get("x")) or 0))
    return Grid(x, max(0, _int(pos.get("y")) or 0), w, max(1, _int(pos.get("h")) or DEFAULT_SIZE[1]))


def _sections(raw_panels: list[Any]) -> list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]]:
    """Top-level panels split at rows (Grafana's rows never nest); a collapsed row keeps its
    panels inside itself, an expanded one is followed by them."""
    out: list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]] = [(None, [])]
    for raw in raw_panels:
        if not isinstance(raw, dict):
            continue
        if raw.get("type") == "row":
            out.append((raw, [p for p in model.iter_panels(raw.get("panels") or [])]))
        else:
            out[-1][1].extend(model.iter_panels([raw]))
    return [s for s in out if s[0] is not None or s[1]]


def view(d: model.Dashboard) -> DashboardView:
    """``d`` (verify's model) with the display settings of its JSON file."""
    data = resolve_inputs(read_json(d.path), str(d.path))
    queue = list(d.panels)  # same order as the walk below: both are iter_panels order
    sections = []
    for row, raws in _sections(data.get("panels") or []):
        views = []
        for raw in raws:
            panel = queue.pop(0) if queue else model.Panel(str(raw.get("title") or ""), str(raw.get("type", "")), ())
            views.append(PanelView(panel, _grid(raw) or Grid(0, 0, *DEFAULT_SIZE), display_of(raw),
                                   kind_of(panel.type, bool(panel.targets))))
        title = None if row is None else str(row.get("title") or "Row")
        sections.append(Section(title, tuple(views), bool(row and row.get("collapsed"))))
    return DashboardView(d, tuple(sections), model.variable_values(data), str(data.get("timezone") or ""))
