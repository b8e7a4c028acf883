"""Grafana's state timeline and status history: one lane per series, each run of one state a
band in that state's colour (its value mapping's, else by the colour mode: thresholds,
``continuous-*``, fixed or one palette colour per state), its text written where it fits."""

from __future__ import annotations

import math
from typing import Callable

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from stackctl.report import theme, values
from stackctl.report.collect import PanelData, Series
from stackctl.report.colors import continuous_color, css, series_color

MAX_LANES = 20
Run = tuple[float, float, str, str]  # start, end (epoch s), text, colour


def _color(pd: PanelData, value: float, lo: float, hi: float, palette: dict[str, str], text: str) -> str:
    d = pd.view.display
    if d.color_mode.startswith("continuous-"):
        return continuous_color(d.color_mode, (value - lo) / (hi - lo)) or d.thresholds.color_for(value, lo, hi)
    if d.color_mode == "fixed" and d.fixed_color:
        return css(d.fixed_color)
    if d.color_mode.startswith("palette"):
        return palette.setdefault(text, series_color(len(palette)))
    return d.thresholds.color_for(value, lo, hi)


def runs(pd: PanelData, s: Series, lo: float, hi: float, palette: dict[str, str]) -> list[Run]:
    """Consecutive points of one state merged (``mergeValues``, Grafana's default); a missing
    point ends a band."""
    merge = pd.view.display.options.get("mergeValues", True) is not False
    out: list[Run] = []
    step = pd.step or 15.0
    for i, (t, v) in enumerate(zip(s.times, s.values)):
        end = s.times[i + 1] if i + 1 < len(s.times) and s.times[i + 1] - t <= 2 * step else t + step
        if not math.isfinite(v):
            continue
        text, color = values.shown(pd, v, "")
        color = color or _color(pd, v, lo, hi, palette, text)
        if merge and out and out[-1][2] == text and abs(out[-1][1] - t) < 1e-6:
            out[-1] = (out[-1][0], end, text, out[-1][3])
        else:
            out.append((t, end, text, color))
    return out


def state_timeline(fig: Figure, pd: PanelData, box: tuple[float, float, float, float],
                   time_axis: Callable[[Axes, PanelData], None]) -> None:
    ax = fig.add_axes(box)
    series = pd.series[:MAX_LANES]
    finite = [v for s in series for v in s.values if math.isfinite(v)]
    lo, hi = values.value_range(pd, finite)
    fill = float(pd.view.display.custom.get("fillOpacity", 70)) / 100
    width_px = box[2] * fig.get_size_inches()[0] * theme.DPI
    span = max(1.0, pd.window[1] - pd.window[0])
    palette: dict[str, str] = {}
    for lane, s in enumerate(reversed(series)):  # the first series on top, as Grafana stacks them
        for start, end, text, color in runs(pd, s, lo, hi, palette):
            ax.broken_barh([(start / 86400.0, (end - start) / 86400.0)], (lane + 0.06, 0.88), facecolors=color,
                           alpha=max(0.1, min(1.0, fill)), linewidth=0)
            band_px = (end - start) / span * width_px
            if pd.view.display.options.get("showValue", "auto") != "never" and band_px > 7 * len(text) + 6:
                ax.text((start + end) / 2 / 86400.0, lane + 0.5, text, ha="center", va="center", fontsize=7,
                        color=theme.PAGE_BG if fill >= 0.5 else theme.TEXT, clip_on=True)
    ax.set_ylim(0, max(1, len(series)))
    left_px = box[0] * fig.get_size_inches()[0] * theme.DPI
    ax.set_yticks([i + 0.5 for i in range(len(series))],
                  [values.ellipsize(s.name, left_px - 6, 7) for s in reversed(series)], fontsize=7)
    time_axis(ax, pd)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
