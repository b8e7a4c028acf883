"""Grafana's colours: named palette colours, threshold steps and the series palette.

Names are Grafana's (``green``, ``semi-dark-red``, ``super-light-blue``, ...; the hex values are
those of Grafana's dark theme palette); hex and ``rgb()/rgba()`` strings pass through.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

# shade -> hex, per hue (super-light, light, base, semi-dark, dark), Grafana's palette
_HUES = {
    "red": ("#FFA6B0", "#FF7383", "#F2495C", "#E02F44", "#C4162A"),
    "orange": ("#FFCB7D", "#FFB357", "#FF9830", "#FF780A", "#FA6400"),
    "yellow": ("#FFF899", "#FFEE52", "#FADE2A", "#F2CC0C", "#E0B400"),
    "green": ("#C8F2C2", "#96D98D", "#73BF69", "#56A64B", "#37872D"),
    "blue": ("#C0D8FF", "#8AB8FF", "#5794F2", "#3274D9", "#1F60C4"),
    "purple": ("#DEB6F2", "#CA95E5", "#B877D9", "#A352CC", "#8F3BB8"),
}
_PREFIXES = ("super-light-", "light-", "", "semi-dark-", "dark-")
NAMED = {f"{prefix}{hue}": shades[i] for hue, shades in _HUES.items() for i, prefix in enumerate(_PREFIXES)}
NAMED.update({"text": "#CCCCDC", "transparent": "#00000000", "white": "#FFFFFF", "black": "#000000",
              "gray": "#808080", "grey": "#808080"})
# Grafana's classic series palette (palette-classic), in order
PALETTE = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0",
           "#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477")
DEFAULT_BASE = "#73BF69"  # Grafana's default base threshold step: green
_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)")


def css(color: Any, default: str = "#CCCCDC") -> str:
    """A Grafana colour name or CSS colour -> ``#RRGGBB`` (or ``#RRGGBBAA``), usable by matplotlib too."""
    if not isinstance(color, str) or not color.strip():
        return default
    text = color.strip()
    if text.lower() in NAMED:
        return NAMED[text.lower()]
    m = _RGB.fullmatch(text)
    if m:
        r, g, b = (max(0, min(255, int(float(x)))) for x in m.groups()[:3])
        alpha = "" if m.group(4) is None else f"{max(0, min(255, int(float(m.group(4)) * 255))):02X}"
        return f"#{r:02X}{g:02X}{b:02X}{alpha}"
    if re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3}([0-9a-fA-F]{2})?)?", text):
        return text if len(text) != 4 else "#" + "".join(c * 2 for c in text[1:])
    return default


def series_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass(frozen=True)
class Step:
    value: float  # -inf for the base step
    color: str


@dataclass(frozen=True)
class Thresholds:
    steps: tuple[Step, ...]
    percentage: bool = False

    def color_for(self, value: float | None, lo: float = 0.0, hi: float = 100.0) -> str:
        """The colour of the highest step at or below ``value`` (Grafana's getActiveThreshold)."""
        if value is None or math.isnan(value):
            return NAMED["text"]
        if self.percentage:
            value = 100.0 * (value - lo) / (hi - lo) if hi > lo else 0.0
        chosen = self.steps[0].color if self.steps else DEFAULT_BASE
        for step in self.steps:
            if value >= step.value:
                chosen = step.color
        return chosen


def thresholds_from(field_config: dict[str, Any]) -> Thresholds:
    """``fieldConfig.defaults.thresholds`` (``steps``, ``mode``) -> Thresholds; Grafana's
    defaults (green, red at 80) when the panel sets none."""
    raw = field_config.get("thresholds") if isinstance(field_config, dict) else None
    if not isinstance(raw, dict) or not raw.get("steps"):
        return Thresholds((Step(-math.inf, NAMED["green"]), Step(80.0, NAMED["red"])))
    steps = []
    for item in raw.get("steps") or []:
        if not isinstance(item, dict):
            continue
        value = item.get("value")
        try:
            number = -math.inf if value is None else float(value)
        except (TypeError, ValueError):
            continue
        steps.append(Step(number, css(item.get("color"), DEFAULT_BASE)))
    steps.sort(key=lambda s: s.value)
    return Thresholds(tuple(steps), raw.get("mode") == "percentage")


def legacy_thresholds(values: str | Sequence[Any], colors: Sequence[Any]) -> Thresholds:
    """Old singlestat ``thresholds: "50,80"`` with ``colors: [ok, warn, bad]``."""
    parts = values.split(",") if isinstance(values, str) else list(values)
    cuts = []
    for p in parts:
        try:
            cuts.append(float(p))
        except (TypeError, ValueError):
            continue
    palette = [css(c, DEFAULT_BASE) for c in colors] or [NAMED["green"], NAMED["orange"], NAMED["red"]]
    steps = [Step(-math.inf, palette[0])] + [Step(c, palette[min(i + 1, len(palette) - 1)]) for i, c in enumerate(cuts)]
    return Thresholds(tuple(steps))


# fieldConfig color.mode ``continuous-*``: Grafana's gradient schemes (fieldColor.ts), low -> high
_CONTINUOUS = {
    "GrYlRd": ("green", "yellow", "red"), "RdYlGr": ("red", "yellow", "green"),
    "BlYlRd": ("dark-blue", "super-light-yellow", "dark-red"), "YlRd": ("super-light-yellow", "dark-red"),
    "BlPu": ("blue", "purple"), "YlBl": ("super-light-yellow", "dark-blue"),
    "blues": ("#181B1F", "dark-blue"), "reds": ("#181B1F", "dark-red"), "greens": ("#181B1F", "dark-green"),
    "purples": ("#181B1F", "dark-purple"),
}


def _rgb(color: str) -> tuple[float, ...]:
    hexa = css(color)[1:7]
    return tuple(int(hexa[i:i + 2], 16) / 255 for i in (0, 2, 4))


def continuous_color(mode: str, fraction: float) -> str | None:
    """The colour at ``fraction`` (0..1 of min..max) of a ``continuous-<scheme>`` colour mode;
    None for any other mode. viridis/magma/plasma/inferno are matplotlib's own (the d3 maps
    Grafana uses are the same ones)."""
    if not mode.startswith("continuous-"):
        return None
    scheme = mode.removeprefix("continuous-")
    f = 0.0 if math.isnan(fraction) else max(0.0, min(1.0, fraction))
    if scheme in ("viridis", "magma", "plasma", "inferno"):
        from matplotlib import colormaps  # lazy: only the report draws

        r, g, b, _ = colormaps[scheme](f)
        return "#" + "".join(f"{round(x * 255):02X}" for x in (r, g, b))
    stops = [_rgb(c) for c in _CONTINUOUS.get(scheme, _CONTINUOUS["GrYlRd"])]
    pos = f * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    t = pos - i
    return "#" + "".join(f"{round((a + (b - a) * t) * 255):02X}" for a, b in zip(stops[i], stops[i + 1]))
