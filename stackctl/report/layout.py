"""Where everything goes on the page, in pixels: Grafana's 24-column grid at a fixed width.

Every box is absolutely positioned from these numbers, so the page looks the same in any
browser and a test can find each panel's region in a screenshot from the embedded layout.
Grafana's own geometry: 24 columns, 30 px grid rows with 8 px margins (38 px per row unit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stackctl.report.source import GRID_COLUMNS, Grid, PanelView

PAD = 16
COL = 52  # px per grid column
ROW = 38  # px per grid row unit (30 + 8 margin)
GAP = 8
PAGE_W = GRID_COLUMNS * COL + 2 * PAD
HEADER_PX = 28  # a panel's title bar
LEGEND_LINE = 16
LEGEND_ITEM_PX = 210  # room for one legend entry on a line
MAX_LEGEND_LINES = 3


@dataclass(frozen=True)
class Rect:
    left: int
    top: int
    width: int
    height: int

    def css(self) -> str:
        return f"left:{self.left}px;top:{self.top}px;width:{self.width}px;height:{self.height}px"

    def as_list(self) -> list[int]:
        return [self.left, self.top, self.width, self.height]


def compact(grids: list[Grid]) -> list[Grid]:
    """Grafana's vertical compaction (react-grid-layout ``compactType: vertical``): in order of
    (y, x), each panel floats up to the highest row where it overlaps no panel placed before it,
    so a gap left by removed panels closes, and overlapping or position-less ones are pushed down."""
    order = sorted(range(len(grids)), key=lambda i: (grids[i].y, grids[i].x))
    placed: dict[int, Grid] = {}
    for i in order:
        g = grids[i]

        def clash(y: int, g: Grid = g) -> list[Grid]:
            return [p for p in placed.values() if p.x < g.x + g.w and g.x < p.x + p.w and p.y < y + g.h and y < p.y + p.h]

        y = max([0] + [p.y + p.h for p in placed.values() if p.x < g.x + g.w and g.x < p.x + p.w and p.y + p.h <= g.y])
        while clash(y):
            y = max(p.y + p.h for p in clash(y))
        placed[i] = Grid(g.x, y, g.w, g.h)
    return [placed[i] for i in range(len(grids))]


def grid_height(grids: list[Grid]) -> int:
    """Pixels a compacted grid takes."""
    return max((g.y + g.h for g in grids), default=0) * ROW


def panel_rect(g: Grid, top: int) -> Rect:
    return Rect(PAD + g.x * COL, top + g.y * ROW, g.w * COL - GAP, g.h * ROW - GAP)


def legend_lines(pv: PanelView, n_series: int, width: int) -> int:
    raw = pv.display.options.get("legend")
    legend: dict[str, object] = raw if isinstance(raw, dict) else {}
    if pv.legend_hidden or n_series == 0 or pv.kind not in ("timeseries", "piechart", "histogram"):
        return 0
    item = LEGEND_ITEM_PX * (2 if legend.get("calcs") else 1)  # values beside each name take room
    per_line = max(1, width // item)
    return min(MAX_LEGEND_LINES, math.ceil(n_series / per_line))


def body_size(rect: Rect, legend: int) -> tuple[int, int]:
    """The chart area inside a panel: below the title bar, above the legend."""
    return rect.width - 2, max(20, rect.height - HEADER_PX - (legend * LEGEND_LINE + 4 if legend else 0) - 2)
