"""Single-value panels: stat, gauge and bar gauge, each value reduced the way the panel's
``reduceOptions.calcs`` says and coloured by its thresholds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle, Wedge

from stackctl.report import theme
from stackctl.report.collect import PanelData, Series
from stackctl.report.colors import continuous_color, css, series_color
from stackctl.report.mappings import mapped
from stackctl.report.units import format_value

_CALCS: dict[str, Callable[[list[float]], float]] = {
    "lastNotNull": lambda v: v[-1], "last": lambda v: v[-1], "firstNotNull": lambda v: v[0], "first": lambda v: v[0],
    "mean": lambda v: sum(v) / len(v), "max": max, "min": min, "sum": sum, "count": lambda v: float(len(v)),
    "range": lambda v: max(v) - min(v), "delta": lambda v: sum(max(0.0, b - a) for a, b in zip(v, v[1:])),
    "diff": lambda v: v[-1] - v[0], "median": lambda v: sorted(v)[len(v) // 2],
}
GAUGE_START, GAUGE_SPAN = 210.0, 240.0  # degrees, counter-clockwise from 3 o'clock: Grafana's arc


@dataclass(frozen=True)
class Value:
    name: str
    value: float | None
    color: str
    text: str
    series: Series | None


def reduce(series: Series, calc: str) -> float | None:
    finite = [v for v in series.values if math.isfinite(v)]
    if not finite:
        return None
    return float(_CALCS.get(calc, _CALCS["lastNotNull"])(finite))


def value_range(pd: PanelData, numbers: Sequence[float]) -> tuple[float, float]:
    """The panel's min/max, else Grafana's auto range (0 .. the largest value, percent units 0..100/1)."""
    d = pd.view.display
    lo = d.min if d.min is not None else min([0.0, *numbers])
    default_hi = {"percent": 100.0, "percentunit": 1.0}.get(d.unit, max([lo + 1e-9, *numbers]))
    hi = d.max if d.max is not None else default_hi
    return lo, hi if hi > lo else lo + 1.0


def values(pd: PanelData) -> list[Value]:
    d = pd.view.display
    reduced = [(s, reduce(s, d.calc)) for s in pd.series]
    lo, hi = value_range(pd, [v for _, v in reduced if v is not None])
    out = []
    for i, (s, v) in enumerate(reduced):
        if s.color:
            color = s.color
        elif d.color_mode == "fixed" and d.fixed_color:
            color = css(d.fixed_color)
        elif d.color_mode.startswith("palette"):
            color = series_color(i)
        elif d.color_mode.startswith("continuous-") and v is not None:
            color = continuous_color(d.color_mode, (v - lo) / (hi - lo)) or d.thresholds.color_for(v, lo, hi)
        else:
            color = d.thresholds.color_for(v, lo, hi)
        text, color = shown(pd, v, color)
        out.append(Value(s.name, v, color, text, s))
    return out


def shown(pd: PanelData, value: float | None, color: str) -> tuple[str, str]:
    """(text, colour) of a value: its value mapping if one matches, ``noValue`` for none,
    else the value in the panel's unit."""
    d = pd.view.display
    text = d.no_value if value is None and d.no_value else format_value(value, d.unit, d.decimals)
    hit = mapped(d.mappings, value, text)
    return (hit.text or text, hit.color or color) if hit else (text, color)


def ellipsize(text: str, width_px: float, fontsize: float) -> str:
    """``text`` cut to about ``width_px`` at ``fontsize`` points, ending in an ellipsis (as
    Grafana's value names do) rather than running into the next cell."""
    fits = max(1, int(width_px / (fontsize * theme.DPI / 72 * 0.6)))
    return text if len(text) <= fits else text[:max(1, fits - 1)] + "\u2026"


def _fit(text: str, w: float, h: float, share: float = 0.5) -> float:
    """A font size (points) that fits ``text`` into w x h pixels."""
    px = min(h * share, w / max(1, len(text)) * 1.6)
    return max(6.0, px * 72 / theme.DPI)


def stat(fig: Figure, pd: PanelData, box: tuple[float, float, float, float]) -> None:
    """Grafana's stat: one cell per value, value text (threshold colour), area sparkline."""
    items = values(pd)[:12]
    mode = str(pd.view.display.options.get("colorMode", "value"))
    graph = str(pd.view.display.options.get("graphMode", "area")) != "none"
    left, bottom, width, height = box
    w_px, h_px = fig.get_size_inches() * theme.DPI
    vertical = width * w_px < height * h_px * 0.8 and len(items) > 1
    for i, item in enumerate(items):
        n = len(items)
        cell = (left, bottom + height * (n - 1 - i) / n, width, height / n) if vertical else (left + width * i / n, bottom, width / n, height)
        _stat_cell(fig, item, cell, mode, graph, show_name=n > 1)


def _stat_cell(fig: Figure, item: Value, cell: tuple[float, float, float, float], mode: str, graph: bool, show_name: bool) -> None:
    x, y, w, h = cell
    w_px, h_px = fig.get_size_inches() * theme.DPI
    if mode == "background":
        fig.patches.append(_rect(fig, cell, item.color))
    text_color = theme.TEXT if mode in ("background", "none") else item.color
    if graph and item.series is not None and len(item.series.times) > 1:
        ax = fig.add_axes((x, y, w, h * 0.4))
        ax.set_axis_off()
        ax.fill_between(item.series.times, item.series.values, min(0.0, *[v for v in item.series.values if math.isfinite(v)] or [0.0]),
                        color=theme.TEXT if mode == "background" else item.color, alpha=0.18, linewidth=0)
        ax.plot(item.series.times, item.series.values, color=theme.TEXT if mode == "background" else item.color, linewidth=1, alpha=0.7)
        ax.margins(0, 0.05)
    name_share = 0.16 if show_name else 0.0
    if show_name:
        size = min(10.0, _fit(item.name, w * w_px, h * h_px, 0.12))
        fig.text(x + w / 2, y + h * 0.86, ellipsize(item.name, w * w_px * 0.95, size), ha="center", va="center", color=theme.TEXT,
                 fontsize=size, clip_on=True)
    fig.text(x + w / 2, y + h * (0.55 - name_share / 4), item.text, ha="center", va="center", color=text_color,
             fontsize=_fit(item.text, w * w_px * 0.85, h * h_px, 0.34 - name_share), fontweight="bold")


def _rect(fig: Figure, cell: tuple[float, float, float, float], color: str) -> Rectangle:
    x, y, w, h = cell
    pad = 0.004
    return Rectangle((x + pad, y + pad), w - 2 * pad, h - 2 * pad, transform=fig.transFigure, facecolor=color, linewidth=0, zorder=-1)


def gauge(fig: Figure, pd: PanelData, box: tuple[float, float, float, float]) -> None:
    """Grafana's gauge: a 240-degree arc filled to the value, the threshold band outside it."""
    items = values(pd)[:8]
    lo, hi = value_range(pd, [i.value for i in items if i.value is not None])
    left, bottom, width, height = box
    for i, item in enumerate(items):
        n = len(items)
        ax = fig.add_axes((left + width * i / n, bottom, width / n, height))
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.set_xlim(-1.1, 1.1)
        ax.set_ylim(-0.85, 1.15)
        start = GAUGE_START

        def angle(v: float) -> float:
            return GAUGE_START - GAUGE_SPAN * max(0.0, min(1.0, (v - lo) / (hi - lo)))

        ax.add_patch(Wedge((0, 0), 0.92, angle(hi), start, width=0.22, facecolor=theme.GRID, linewidth=0))
        if item.value is not None:
            ax.add_patch(Wedge((0, 0), 0.92, angle(item.value), start, width=0.22, facecolor=item.color, linewidth=0))
        steps = pd.view.display.thresholds.steps
        for j, step in enumerate(steps):
            a = max(lo, step.value if math.isfinite(step.value) else lo)
            b = steps[j + 1].value if j + 1 < len(steps) else hi
            if b > a and pd.view.display.options.get("showThresholdMarkers", True):
                ax.add_patch(Wedge((0, 0), 1.0, angle(min(b, hi)), angle(a), width=0.05, facecolor=step.color, linewidth=0))
        w_px = width / n * fig.get_size_inches()[0] * theme.DPI
        ax.text(0, 0.05, item.text, ha="center", va="center", color=item.color, fontweight="bold",
                fontsize=_fit(item.text, w_px * 0.55, w_px, 0.2))
        if n > 1:
            ax.text(0, -0.7, ellipsize(item.name, w_px * 0.95, 7), ha="center", va="center", color=theme.TEXT, fontsize=7)


def bargauge(fig: Figure, pd: PanelData, box: tuple[float, float, float, float]) -> None:
    """Grafana's bar gauge: one bar per value, filled to it in its threshold colour."""
    items = values(pd)[:30]
    lo, hi = value_range(pd, [i.value for i in items if i.value is not None])
    vertical = pd.view.display.options.get("orientation") == "vertical"
    ax = fig.add_axes(box)
    ax.set_axis_off()
    n = len(items)
    positions = list(range(n))[::-1] if not vertical else list(range(n))
    full = [hi - lo] * n
    filled = [max(0.0, min(hi, i.value if i.value is not None else lo) - lo) for i in items]  # Grafana clamps to min..max
    bar = ax.bar if vertical else ax.barh
    bar(positions, full, 0.62, lo, color=theme.GRID, linewidth=0)
    bar(positions, filled, 0.62, lo, color=[i.color for i in items], linewidth=0)
    for pos, item in zip(positions, items):
        if vertical:
            ax.text(pos, hi, item.text, ha="center", va="bottom", color=item.color, fontsize=8, fontweight="bold")
            ax.text(pos, lo, item.name, ha="center", va="top", color=theme.TEXT, fontsize=7, clip_on=True)
        else:
            ax.text(lo, pos + 0.36, ellipsize(item.name, box[2] * fig.get_size_inches()[0] * theme.DPI, 7), ha="left", va="bottom",
                    color=theme.TEXT, fontsize=7, clip_on=True)
            ax.text(hi, pos, " " + item.text, ha="left", va="center", color=item.color, fontsize=8, fontweight="bold")
    if vertical:
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(lo - (hi - lo) * 0.15, hi + (hi - lo) * 0.12)
    else:
        ax.set_ylim(-0.5, n - 0.2)
        ax.set_xlim(lo, hi + (hi - lo) * 0.32)
