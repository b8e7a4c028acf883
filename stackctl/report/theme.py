"""One place for the report's look: Grafana's dark theme colours, sizes, and the matplotlib
settings every chart is drawn with."""

from __future__ import annotations

from typing import Any

PAGE_BG = "#111217"
PANEL_BG = "#181B1F"
BORDER = "#2C3235"
TEXT = "#CCCCDC"
MUTED = "#8E8E9A"
GRID = "#2C3235"
STATUS_COLORS = {"populated": "#73BF69", "ok": "#73BF69", "empty": "#FADE2A", "error": "#F2495C", "skipped": "#8E8E9A",
                 "firing": "#F2495C", "pending": "#FF9830", "inactive": "#73BF69"}
DPI = 100

# Text as paths: the SVG looks the same on any machine, with no font to load.
MPL_STYLE: dict[str, Any] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "stackctl-report",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "text.color": TEXT,
    "axes.facecolor": PANEL_BG,
    "axes.edgecolor": GRID,
    "axes.labelcolor": TEXT,
    "axes.linewidth": 0.6,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "xtick.major.size": 0,
    "ytick.major.size": 0,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "figure.facecolor": PANEL_BG,
    "savefig.facecolor": PANEL_BG,
    "legend.frameon": False,
    "legend.fontsize": 7,
    "path.simplify": True,
    "text.parse_math": False,  # a `$` in a title, legend or unit (`${var}`, currencyUSD) is text, not TeX
}
