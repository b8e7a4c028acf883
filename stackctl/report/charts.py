"""Each panel's body as a matplotlib figure (SVG in the HTML, PNG for ``--png``).

matplotlib's object API only (``Figure``, no pyplot state), drawn with the Agg/SVG canvases.
Time series, heatmaps, histograms and pie charts are charts; stat, gauge and bar gauge are in
``values``. Tables, logs and text are HTML in the page; ``text_figure`` draws them for PNGs.
"""

from __future__ import annotations

import io
import math
from datetime import datetime, timezone, tzinfo
from typing import Callable, Sequence

import numpy as np
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from stackctl.report import states, theme, values
from stackctl.report.collect import PanelData, Series
from stackctl.report.colors import css, series_color
from stackctl.report.units import axis_formatter

CHART_KINDS = frozenset({"timeseries", "stat", "gauge", "bargauge", "heatmap", "histogram", "piechart", "states"})
LEFT_PX, BOTTOM_PX, TOP_PX, RIGHT_PX = 62, 20, 8, 10


def new_figure(w_px: float, h_px: float) -> Figure:
    return Figure(figsize=(max(w_px, 40) / theme.DPI, max(h_px, 30) / theme.DPI), dpi=theme.DPI)


def svg(fig: Figure) -> str:
    buf = io.StringIO()
    FigureCanvasSVG(fig).print_svg(buf)
    return buf.getvalue()


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()


def _axes_box(fig: Figure, top_px: float = TOP_PX, left_px: float = LEFT_PX) -> tuple[float, float, float, float]:
    w, h = fig.get_size_inches() * theme.DPI
    left, bottom = left_px / w, BOTTOM_PX / h
    return left, bottom, max(0.05, 1 - left - RIGHT_PX / w), max(0.05, 1 - bottom - top_px / h)


def _local(tz_name: str) -> tzinfo:
    return timezone.utc if tz_name == "utc" else (datetime.now().astimezone().tzinfo or timezone.utc)


def _time_axis(ax: Axes, pd: PanelData, tz: tzinfo) -> None:
    w = pd.view.grid.w
    d = pd.window
    span = d[1] - d[0]
    fmt = "%H:%M" if span <= 86400 else "%m/%d %H:%M" if span <= 7 * 86400 else "%m/%d"
    lo, hi = _dates([d[0]])[0], _dates([d[1]])[0]
    ticks = mdates.AutoDateLocator(minticks=2, maxticks=max(3, w // 2), tz=tz).tick_values(mdates.num2date(lo, tz), mdates.num2date(hi, tz))
    margin = (hi - lo) * 0.04  # a label centred on the edge would be cut in half
    ax.set_xticks([t for t in ticks if lo + margin <= t <= hi - margin])
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=tz))
    ax.set_xlim(lo, hi)


def _dates(times: Sequence[float]) -> np.ndarray:
    return np.asarray(times, dtype=float) / 86400.0  # matplotlib date numbers: days since the epoch


def _style_value_axis(ax: Axes, pd: PanelData) -> None:
    d = pd.view.display
    scale = d.custom.get("scaleDistribution")
    if isinstance(scale, dict) and scale.get("type") == "log" and _positive(pd):
        ax.set_yscale("log", base=float(scale.get("log") or 10))  # Grafana's log axis (base 2 or 10)
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=max(2, pd.view.grid.h // 2), min_n_ticks=2))
    ax.yaxis.set_major_formatter(FuncFormatter(axis_formatter(d.unit, d.decimals)))
    ax.grid(True, axis="both")
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    lo, hi = ax.get_ylim()
    soft_lo, soft_hi = _float_or_none(d.custom.get("axisSoftMin")), _float_or_none(d.custom.get("axisSoftMax"))
    if soft_lo is not None and soft_lo < lo:  # soft limits widen the axis, never cut data
        ax.set_ylim(bottom=soft_lo)
    if soft_hi is not None and soft_hi > hi:
        ax.set_ylim(top=soft_hi)
    if d.min is not None:
        ax.set_ylim(bottom=d.min)
    if d.max is not None:
        ax.set_ylim(top=d.max)
    if d.custom.get("axisPlacement") == "hidden":
        ax.yaxis.set_ticklabels([])


def _positive(pd: PanelData) -> bool:
    return any(v > 0 for s in pd.series for v in s.values if math.isfinite(v))


def _float_or_none(value: object) -> float | None:
    try:
        return None if value is None else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def line_color(pd: PanelData, index: int) -> str:
    d = pd.view.display
    own = pd.series[index].color if index < len(pd.series) else None
    if own:
        return own
    if d.color_mode == "fixed" and d.fixed_color:
        return css(d.fixed_color)
    if d.color_mode == "thresholds":
        return d.thresholds.steps[0].color if d.thresholds.steps else series_color(index)
    return series_color(index)


def timeseries(fig: Figure, pd: PanelData, tz: tzinfo, box: tuple[float, float, float, float]) -> None:
    ax = fig.add_axes(box)
    custom = pd.view.display.custom
    fill = float(custom.get("fillOpacity") or 0) / 100.0
    stacked = (custom.get("stacking") or {}).get("mode") in ("normal", "percent") if isinstance(custom.get("stacking"), dict) else False
    bars = custom.get("drawStyle") == "bars"
    width = float(custom.get("lineWidth") or 1)
    base = np.zeros(0)
    for i, s in enumerate(pd.series):
        x, y = _dates(s.times), np.asarray(s.values, dtype=float)
        color = line_color(pd, i)
        if stacked:
            if base.shape != y.shape:
                base = np.zeros_like(y)
            top = base + np.nan_to_num(y)
            ax.fill_between(x, base, top, color=color, alpha=max(fill, 0.5), linewidth=0)
            ax.plot(x, top, color=color, linewidth=width)
            base = top
        elif bars:
            ax.bar(x, y, width=pd.step / 86400.0 * 0.8, color=color, alpha=max(fill, 0.8), linewidth=0)
        else:
            ax.plot(x, y, color=color, linewidth=width, marker="o" if len(x) == 1 else None, markersize=3)
            if fill > 0:
                ax.fill_between(x, y, 0, color=color, alpha=fill, linewidth=0)
    _thresholds(ax, pd)
    for e in pd.events:  # annotations: a line at a point event, a band over a region
        if e.end > e.start:
            ax.axvspan(_dates([e.start])[0], _dates([e.end])[0], color=e.color, alpha=0.12, linewidth=0)
        ax.axvline(_dates([e.start])[0], color=e.color, linewidth=0.8, linestyle="--", alpha=0.8)
    _time_axis(ax, pd, tz)
    _style_value_axis(ax, pd)
    _flat_from_zero(ax, pd)
    _fit_value_labels(fig, ax, pd, box)


def _flat_from_zero(ax: Axes, pd: PanelData) -> None:
    """A flat, non-negative panel (all zeros, say) reads from 0 up, as in Grafana, not around 0."""
    finite = [v for s in pd.series for v in s.values if math.isfinite(v)]
    d = pd.view.display
    if finite and min(finite) == max(finite) >= 0 and d.min is None and d.max is None:
        ax.set_ylim(0, max(finite) * 2 or 1)


def _fit_value_labels(fig: Figure, ax: Axes, pd: PanelData, box: tuple[float, float, float, float]) -> None:
    """Widen the left margin to the longest value label ("0.075 ops/s" needs more than "9")."""
    lo, hi = ax.get_ylim()
    fmt = axis_formatter(pd.view.display.unit, pd.view.display.decimals)
    labels = [fmt(v, None) for v in ax.get_yticks() if lo <= v <= hi]
    w_px = fig.get_size_inches()[0] * theme.DPI
    left = (12 + 5.6 * max((len(t) for t in labels), default=1)) / w_px
    right = box[0] + box[2]
    ax.set_position((left, box[1], max(0.05, right - left), box[3]))


def _thresholds(ax: Axes, pd: PanelData) -> None:
    style = pd.view.display.custom.get("thresholdsStyle")
    mode = style.get("mode") if isinstance(style, dict) else None
    if mode not in ("line", "dashed", "line+area", "dashed+area", "area"):
        return
    for step in pd.view.display.thresholds.steps:
        if math.isfinite(step.value):
            ax.axhline(step.value, color=step.color, linewidth=1, linestyle="--" if "dashed" in str(mode) else "-", alpha=0.8)


def heatmap(fig: Figure, pd: PanelData, tz: tzinfo, box: tuple[float, float, float, float]) -> None:
    """Prometheus buckets (``le``): de-cumulated counts per bucket over time; other series:
    one row per series (its value over time)."""
    ax = fig.add_axes(box)
    times = sorted({t for s in pd.series for t in s.times})
    rows, names = _heat_rows(pd.series, times)
    if rows.size and len(times) > 0:
        x = _dates(times)
        edges = np.concatenate([x, [x[-1] + pd.step / 86400.0]]) if len(x) else x
        ax.pcolormesh(edges, np.arange(len(names) + 1), rows, cmap="inferno", shading="flat")
        left_px = box[0] * fig.get_size_inches()[0] * theme.DPI  # a series name fits the margin, ellipsized
        ax.set_yticks(np.arange(len(names)) + 0.5, [values.ellipsize(n, left_px - 6, 7) for n in names], fontsize=7)
    _time_axis(ax, pd, tz)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)


def _on_grid(s: Series, index: dict[float, int]) -> np.ndarray:
    """The series' values at every time of the panel (NaN where it has none)."""
    row = np.full(len(index), np.nan)
    for t, v in zip(s.times, s.values):
        row[index[t]] = v
    return row


def _heat_rows(series: list[Series], times: list[float]) -> tuple[np.ndarray, list[str]]:
    if not times:
        return np.zeros((0, 0)), []
    index = {t: i for i, t in enumerate(times)}
    if all("le" in s.labels for s in series):
        def bound(s: Series) -> float:
            return math.inf if s.labels["le"] in ("+Inf", "Inf") else float(s.labels["le"])

        ordered = sorted(series, key=bound)
        cum = np.array([np.nan_to_num(_on_grid(s, index)) for s in ordered])
        rows = np.diff(cum, axis=0, prepend=0.0).clip(min=0)
        return rows, [s.labels["le"] for s in ordered]
    return np.array([_on_grid(s, index) for s in series]), [s.name for s in series]


def histogram(fig: Figure, pd: PanelData, box: tuple[float, float, float, float]) -> None:
    ax = fig.add_axes(box)
    data = [[v for v in s.values if math.isfinite(v)] for s in pd.series]
    data = [d for d in data if d]
    if data:
        bins = int(pd.view.display.options.get("bucketCount") or 30)
        ax.hist(data, bins=bins, stacked=True, color=[line_color(pd, i) for i in range(len(data))])
    ax.xaxis.set_major_formatter(FuncFormatter(axis_formatter(pd.view.display.unit, pd.view.display.decimals)))
    ax.grid(True, axis="y")
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)


def piechart(fig: Figure, pd: PanelData, box: tuple[float, float, float, float]) -> None:
    ax = fig.add_axes(box)
    ax.set_aspect("equal")
    items = [(i, v) for i, v in enumerate(values.values(pd)) if v.value is not None and v.value > 0]
    if items:
        donut = pd.view.display.options.get("pieType") == "donut"
        shown = [str(x) for x in pd.view.display.options.get("displayLabels") or []]
        total = sum(v.value or 0.0 for _, v in items)
        labels = [" ".join(([v.name] if "name" in shown else []) + ([v.text] if "value" in shown else [])
                           + ([f"{100 * (v.value or 0.0) / total:.0f}%"] if "percent" in shown and total else [])) for _, v in items]
        ax.pie([v.value or 0.0 for _, v in items], colors=[line_color(pd, i) for i, _ in items], startangle=90, counterclock=False,
               labels=labels if shown else None, labeldistance=0.78 if donut else 0.6, textprops={"fontsize": 7, "color": theme.PAGE_BG},
               wedgeprops={"linewidth": 1, "edgecolor": theme.PANEL_BG, **({"width": 0.45} if donut else {})})


def draw(pd: PanelData, w_px: float, h_px: float, title: str | None = None, legend: bool = False) -> Figure:
    """The figure of a chart panel, ``w_px`` by ``h_px``; ``title``/``legend`` for PNGs (the
    page draws both in HTML)."""
    fig = new_figure(w_px, h_px)
    top = TOP_PX + (22 if title else 0)
    if title:
        fig.text(8 / w_px, 1 - 6 / h_px, title, ha="left", va="top", fontsize=9, fontweight="bold", color=theme.TEXT)
    kind = pd.view.kind
    tz = _local(pd.timezone)
    full = (0.01, 0.01, 0.98, max(0.1, 1 - 0.02 - (top - TOP_PX) / h_px))
    drawers: dict[str, Callable[[], None]] = {
        "timeseries": lambda: timeseries(fig, pd, tz, _axes_box(fig, top)),
        "heatmap": lambda: heatmap(fig, pd, tz, _axes_box(fig, top, 70)),
        "histogram": lambda: histogram(fig, pd, _axes_box(fig, top, 30)),
        "piechart": lambda: piechart(fig, pd, full),
        "states": lambda: states.state_timeline(fig, pd, _axes_box(fig, top, 90), lambda ax, p: _time_axis(ax, p, tz)),
        "stat": lambda: values.stat(fig, pd, full),
        "gauge": lambda: values.gauge(fig, pd, full),
        "bargauge": lambda: values.bargauge(fig, pd, (0.03, 0.03, 0.94, full[3] - 0.04)),
    }
    drawers.get(kind, drawers["timeseries"])()
    if legend and kind in ("timeseries", "piechart", "histogram") and pd.series and not pd.view.legend_hidden:
        handles = [fig.axes[0].plot([], [], color=line_color(pd, i))[0] for i in range(len(pd.series[:8]))]
        fig.axes[0].legend(handles, [s.name for s in pd.series[:8]], loc="upper left", fontsize=6.5)
    return fig


def text_figure(w_px: float, h_px: float, title: str, lines: Sequence[tuple[str, str]]) -> Figure:
    """A PNG body made of text lines (table rows, log lines, messages): (text, colour) each."""
    fig = new_figure(w_px, h_px)
    fig.text(8 / w_px, 1 - 6 / h_px, title, ha="left", va="top", fontsize=9, fontweight="bold", color=theme.TEXT)
    line_px = 13
    for i, (text, color) in enumerate(lines[: max(1, int((h_px - 34) // line_px))]):
        fig.text(8 / w_px, 1 - (30 + i * line_px) / h_px, text, ha="left", va="top", fontsize=7, color=color,
                 family="DejaVu Sans Mono", clip_on=True)
    return fig
