"""The report as one self-contained HTML page: inline CSS, charts as SVG data URIs, no script
(the only ``<script>`` is a JSON data block, which browsers do not run), no external font.

Layout: the report header, the alerts, then each dashboard (title, range, variables) with its
rows as headings and its panels placed on Grafana's grid (``layout``). The JSON block
(``#stackctl-report-data``) holds each panel's verdict, page rectangle and series, so tools and
tests read back exactly what was drawn.
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

import matplotlib

from stackctl.report import bodies, layout, theme
from stackctl.report.collect import PanelData
from stackctl.report.layout import PAD, PAGE_W, Rect
from stackctl.report.model import Alerts, Report
from stackctl.report.source import DashboardView
from stackctl.report.units import format_value
from stackctl.report.values import reduce
from stackctl.verify.checks import CheckResult
from stackctl.verify.report import summary

esc = bodies.esc
DATA_ID = "stackctl-report-data"
ALERT_ROW = 22
WHY_PX = 16  # the reason line of a drawn panel whose verdict is not "populated"
CSS = f"""
*{{box-sizing:border-box}}
body{{margin:0;color-scheme:dark;background:{theme.PAGE_BG};color:{theme.TEXT};font:12px/1.35 "DejaVu Sans",Inter,Helvetica,Arial,sans-serif}}
#page{{position:relative;width:{PAGE_W}px}}
.box{{position:absolute;overflow:hidden}}
h1{{font-size:20px;margin:0 0 4px}} h2{{font-size:17px;margin:0}} h3{{font-size:14px;margin:0;padding-top:6px;border-bottom:1px solid {theme.BORDER}}}
.meta{{color:{theme.MUTED};white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}
.panel{{background:{theme.PANEL_BG};border:1px solid {theme.BORDER};border-radius:2px}}
.ph{{height:{layout.HEADER_PX}px;display:flex;align-items:center;gap:8px;padding:0 8px;white-space:nowrap}}
.ph .t{{font-weight:bold;overflow:hidden;text-overflow:ellipsis;flex:1 1 auto;min-width:3em}}
.badge{{font-size:10px;padding:1px 6px;border-radius:8px;color:#111;flex:0 1 auto;min-width:2.5em;overflow:hidden;text-overflow:ellipsis}}
.chart{{display:block}}
.legend{{display:flex;flex-wrap:wrap;gap:0 14px;padding:2px 8px;overflow:hidden;font-size:11px}}
.legend span{{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:{layout.LEGEND_ITEM_PX * 2}px;line-height:{layout.LEGEND_LINE}px}}
.legend i{{display:inline-block;width:14px;height:4px;border-radius:2px;margin:0 5px 3px 0;vertical-align:middle}}
.msg{{height:100%;box-sizing:border-box;overflow:hidden;display:flex;flex-direction:column;align-items:center;justify-content:safe center;text-align:center;overflow-wrap:anywhere;padding:8px;color:{theme.MUTED};gap:4px}}
.msg .big{{font-size:18px;color:{theme.TEXT}}} .msg.error .big{{color:#F2495C}}
.msg code{{font-size:10px;max-width:100%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}}
table.data{{border-collapse:collapse;width:100%;font-size:11px}}
table.data th,table.data td{{text-align:left;padding:2px 8px;border-bottom:1px solid {theme.BORDER};white-space:nowrap}}
table.data th{{color:{theme.MUTED};font-weight:normal}}
.body{{overflow:auto}}
.logs{{font:11px/15px "DejaVu Sans Mono",monospace;padding:0 6px}}
.log{{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}} .log .ts{{color:{theme.MUTED}}}
.log .lvl{{display:inline-block;width:3px;height:11px;margin-right:5px;vertical-align:middle}}
.state{{padding:0 6px;border-radius:8px;color:#111}}
.state.firing{{background:#F2495C}} .state.pending{{background:#FF9830}} .state.ok{{background:#73BF69}} .state.error{{background:#F2495C}}
pre.text{{margin:0;padding:8px;white-space:pre-wrap}} div.text{{padding:0 8px}} div.text a{{color:#6E9FFF}}
.why{{height:{WHY_PX}px;padding:0 8px;font-size:10px;color:#F2495C;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}
.why.note{{color:#8E8E9A}}
"""


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(theme.MPL_STYLE):  # type: ignore[arg-type]
        yield


class _Page:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.top = PAD
        self.panels: list[dict[str, Any]] = []

    def box(self, height: int, inner: str, cls: str = "box") -> Rect:
        rect = Rect(PAD, self.top, PAGE_W - 2 * PAD, height)
        self.parts.append(f'<div class="{cls}" style="{rect.css()}">{inner}</div>')
        self.top += height
        return rect


def _badge(status: str, detail: str) -> str:
    color = theme.STATUS_COLORS.get(status, theme.MUTED)
    short = f"{status} · {detail}" if status == "populated" else status
    return f'<span class="badge" style="background:{color}" title="{esc(detail)}">{esc(short)}</span>'


def _header(page: _Page, report: Report) -> None:
    when = datetime.fromtimestamp(report.generated, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    counts = summary(report.verdicts)
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no panels"
    packs = f"packs: {', '.join(report.packs)}" if report.packs is not None else "every loaded pack"
    scope = f"scenario {report.scenario} ({packs})" if report.scenario else packs
    page.box(76, f"<h1>stackctl report</h1><div class='meta'>{esc(when)} · Prometheus {esc(report.prometheus_url)} · "
                  f"Loki: {esc(report.loki)}</div><div class='meta'>{esc(scope)} · {len(report.dashboards)} dashboard(s) · "
                  f"panels: {esc(tally)}</div>")


def _alerts(page: _Page, alerts: Alerts) -> None:
    page.box(30, "<h3>Alerts</h3>")
    rows = []
    for a in alerts.active[:40]:
        labels = a.get("labels") or {}
        state = str(a.get("state", ""))
        extra = ", ".join(f"{k}={v}" for k, v in labels.items() if k not in ("alertname", "severity"))
        value = a.get("value", "")
        try:
            value = f"{float(value):.4g}"
        except (TypeError, ValueError):
            pass
        rows.append(f'<tr><td><span class="state {esc(state)}">{esc(state)}</span></td><td>{esc(labels.get("alertname", ""))}</td>'
                    f'<td>{esc(labels.get("severity", ""))}</td><td>{esc(str(a.get("activeAt", ""))[:19])}</td>'
                    f"<td>{esc(value)}</td><td>{esc(extra)}</td></tr>")
    for r in alerts.expected + [r for r in alerts.rules if r.failed]:
        rows.append(f'<tr><td><span class="state {esc(r.status)}">{esc(r.status)}</span></td><td>{esc(r.panel)}</td>'
                    f'<td colspan="4">{esc(_what(r) + r.detail)}</td></tr>')
    if not rows:
        rows.append('<tr><td colspan="6">nothing pending or firing</td></tr>')
    table = ("<table class='data'><thead><tr><th>state</th><th>alert</th><th>severity</th><th>active since</th><th>value</th>"
             "<th>labels</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    page.box(ALERT_ROW * (len(rows) + 1) + 4, table)
    if alerts.inactive:
        page.box(ALERT_ROW + 4, f"<div class='meta'>inactive: {esc(', '.join(alerts.inactive))}</div>")
    page.top += 12


def _what(r: CheckResult) -> str:
    return {"alert": f"scenario {r.dashboard}: ", "rules": f"rule group {r.dashboard}: ",
            "dashboard": f"dashboard file {r.panel}: "}.get(r.kind, f"{r.kind} {r.dashboard}: ")


_CALC_NAMES = {"lastNotNull": "Last *", "last": "Last", "mean": "Mean", "max": "Max", "min": "Min", "sum": "Total",
               "firstNotNull": "First *", "first": "First", "count": "Count", "range": "Range", "delta": "Delta", "diff": "Difference"}


def _legend_values(pd: PanelData, index: int) -> str:
    """The legend's ``calcs`` (Grafana's legend values: ``Mean: 1.2 K  Max: 3 K``)."""
    legend = pd.view.display.options.get("legend")
    calcs = legend.get("calcs") if isinstance(legend, dict) else None
    if not isinstance(calcs, list) or not calcs:
        return ""
    d, s = pd.view.display, pd.series[index]
    return "".join(f" <b>{esc(_CALC_NAMES.get(str(c), str(c)))}:</b> {esc(format_value(reduce(s, str(c)), d.unit, d.decimals))}"
                   for c in calcs[:4])


def _legend(pd: PanelData, lines: int) -> str:
    if not lines:
        return ""
    items = "".join(f'<span title="{esc(s.name)}"><i style="background:{bodies.charts.line_color(pd, i)}"></i>{esc(s.name)}'
                    f"{_legend_values(pd, i)}</span>" for i, s in enumerate(pd.series))
    return f'<div class="legend" style="height:{lines * layout.LEGEND_LINE + 4}px">{items}</div>'


def _panel(page: _Page, pd: PanelData, rect: Rect, alerts: Alerts, dashboard: str) -> None:
    lines = layout.legend_lines(pd.view, len(pd.series), rect.width) if bodies.has_chart(pd) else 0
    v = pd.verdict
    why = f'<div class="why" title="{esc(v.detail)}">{esc(v.detail)}</div>' if bodies.has_chart(pd) and v.status != "populated" else ""
    skipped = bodies.unapplied_transformations(pd)
    if not why and skipped and (bodies.has_chart(pd) or pd.view.kind == "table"):  # said, not drawn as if applied
        note = f"transformations not applied: {', '.join(skipped)}"
        why = f'<div class="why note" title="{esc(note)}">{esc(note)}</div>'
    frames = bodies.frames_note(pd)
    if not why and frames:
        why = f'<div class="why note" title="{esc(frames)}">{esc(frames)}</div>'
    w, h = layout.body_size(rect, lines)
    h -= WHY_PX if why else 0
    body = bodies.body_html(pd, w, h, alerts.active)
    index = len(page.panels)
    page.parts.append(
        f'<div class="box panel" data-panel="{index}" style="{rect.css()}"><div class="ph"><span class="t" title="{esc(v.query)}">'
        f'{esc(pd.view.title)}</span>{_badge(v.status, v.detail)}</div>{why}'
        f'<div class="body" style="height:{h}px">{body}</div>{_legend(pd, lines)}</div>')
    page.panels.append({
        "index": index, "dashboard": dashboard, "title": pd.view.title, "type": pd.view.type, "kind": pd.view.kind,
        "status": v.status, "detail": v.detail, "query": v.query, "rect": rect.as_list(), "drawn": bodies.has_chart(pd),
        "targets": [{"refId": t.target.ref_id, "datasource": t.kind, "expr": t.expr, "hidden": t.target.hidden,
                     "instant": t.target.instant} for t in pd.view.instance.targets],
        "step": pd.step,
        "series": [{"name": s.name, "refId": s.ref_id, "labels": dict(s.labels),
                    "values": [[t, bodies.finite_or_none(x)] for t, x in zip(s.times, s.values)]} for s in pd.series],
        "logs": len(pd.logs), "events": [[e.start, e.end, e.name] for e in pd.events],
    })


def _dashboard(page: _Page, dv: DashboardView, panels: list[PanelData], alerts: Alerts) -> None:
    zone = "UTC" if dv.timezone == "utc" else (datetime.now().astimezone().tzname() or "local time")
    span = f"last {layout_span(dv.time_range.range)} (times in {zone})"
    variables = ", ".join(f"{k}={v}" for k, v in dv.variables.items()) or "none"
    where = str(dv.resolved.dashboard.path or "")
    events = next((pd.events for pd in panels if pd.events), [])
    counts: dict[str, int] = {}
    for e in events:
        counts[e.name] = counts.get(e.name, 0) + 1
    marks = " · annotations: " + ", ".join(f"{n} ({c})" for n, c in counts.items()) if counts else ""
    page.box(52, f"<h2>{esc(dv.title)}</h2><div class='meta'>{esc(span)} · variables: {esc(variables)}{esc(marks)} · {esc(where)}</div>")
    by_view = {id(pd.view): pd for pd in panels}
    for section in dv.sections:
        if section.title is not None:
            page.box(34, f"<h3>{esc(section.title)}{' (collapsed)' if section.collapsed else ''}</h3>")
            page.top += 4
        grids = layout.compact([pv.grid for pv in section.panels])
        for pv, g in zip(section.panels, grids):
            _panel(page, by_view[id(pv)], layout.panel_rect(g, page.top), alerts, dv.title)
        page.top += layout.grid_height(grids)
    page.top += 24


def layout_span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and math.isclose(seconds % size, 0, abs_tol=1):
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def _data_block(report: Report, page: _Page, height: int) -> str:
    doc = {"version": 1, "generated": report.generated, "prometheus": report.prometheus_url, "loki": report.loki,
           "scenario": report.scenario, "page": {"width": PAGE_W, "height": height}, "panels": page.panels,
           "alerts": [{"alertname": (a.get("labels") or {}).get("alertname"), "state": a.get("state"), "labels": a.get("labels")}
                      for a in report.alerts.active]}
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{DATA_ID}">{text}</script>'


def render(report: Report) -> str:
    page = _Page()
    with _style():
        _header(page, report)
        _alerts(page, report.alerts)
        for dv, panels in report.dashboards:
            _dashboard(page, dv, panels, report.alerts)
    height = page.top + PAD
    titles = ", ".join(dv.title for dv, _ in report.dashboards)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>stackctl report: {esc(titles)}</title><style>{CSS}</style></head><body>"
            f'<div id="page" style="height:{height}px">{"".join(page.parts)}</div>{_data_block(report, page, height)}</body></html>\n')


def panel_png(pd: PanelData, report: Report) -> bytes:
    rect = layout.panel_rect(pd.view.grid, 0)
    with _style():
        return bodies.png_bytes(pd, rect.width, rect.height, report.alerts.active)
