"""A panel's body: a chart (SVG from ``charts``), or HTML for tables, logs, text, the alert
list and panels with nothing to draw; and the same as PNG for ``--png``."""

from __future__ import annotations

import base64
import html
import math
import re
from datetime import datetime, timezone
from typing import Any, Sequence

from stackctl.report import charts, theme
from stackctl.report.collect import PanelData
from stackctl.report.values import reduce, shown

MAX_TABLE_ROWS = 200
MAX_LOG_LINES = 200
LOG_LEVEL_COLORS = {"error": "#F2495C", "err": "#F2495C", "fatal": "#F2495C", "critical": "#F2495C",
                    "warn": "#FF9830", "warning": "#FF9830", "info": "#73BF69", "debug": "#5794F2"}


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def has_chart(pd: PanelData) -> bool:
    return pd.view.kind in charts.CHART_KINDS and bool(pd.series)


def message(pd: PanelData) -> tuple[str, str]:
    """(headline, reason) of a panel with nothing to draw."""
    v = pd.verdict
    plugin = pd.view.type
    if re.fullmatch(r"[a-z0-9]+-[a-z0-9-]+-panel", plugin):  # an external plugin: the stack's Grafana installs none
        return "Panel plugin not found", f"{plugin} is not installed in the stack's Grafana (no plugins are); " \
            + ("its queries were still checked: " + v.detail if v.status != "skipped" else v.detail)
    own = _grafana_own(pd)
    if own is not None:
        return own
    if v.status == "error":
        return "Error", v.detail
    if v.status == "skipped":
        return "Not queried", v.detail
    if pd.view.kind in charts.CHART_KINDS or v.status == "empty":
        return "No data", v.detail
    return "", v.detail


def _grafana_own(pd: PanelData) -> tuple[str, str] | None:
    """Panels that show Grafana's own content or the browser's (no query): what Grafana would list there."""
    o = pd.view.display.options
    kind = pd.view.type
    if kind == "dashlist":
        what = [name for key, name in (("showStarred", "starred"), ("showRecentlyViewed", "recently viewed"),
                                       ("showSearch", "search")) if o.get(key)]
        tags = ", ".join(str(t) for t in o.get("tags") or [])
        return "Dashboard list", f"Grafana's own dashboards ({', '.join(what) or 'search'}{'; tags ' + tags if tags else ''}): not drawn here"
    if kind == "news":
        feed = str(o.get("feedUrl") or "grafana.com's blog")
        return "News feed", f"{feed}: the browser fetches it in Grafana; the report fetches nothing"
    if kind == "annolist":
        return "Annotation list", "Grafana's stored annotations (none are stored by stackctl): not drawn here"
    return None


def chart_svg(pd: PanelData, w: int, h: int) -> str:
    fig = charts.draw(pd, w, h)
    data = base64.b64encode(charts.svg(fig).encode("utf-8")).decode("ascii")
    return f'<img class="chart" width="{w}" height="{h}" alt="{esc(pd.view.title)}" src="data:image/svg+xml;base64,{data}">'


def table_rows(pd: PanelData) -> tuple[list[str], list[list[str]]]:
    """One row per series: its labels, then its value (reduced with the panel's calc).

    Several ``format: table`` queries are several frames: Grafana's ``merge`` transformation
    joins them on their label columns (a ``Value #<refId>`` column per query); without it the
    table shows one frame at a time (a frame selector), the first one here."""
    transformations = pd.view.instance.panel.raw.get("transformations")
    series, frames = pd.series, table_frames(pd)
    if len(frames) > 1 and _applies(transformations, "merge"):
        head, rows = _merged(pd, frames)
        return organized(head, rows[:MAX_TABLE_ROWS], transformations)
    if len(frames) > 1:
        series = [s for s in pd.series if s.ref_id == frames[0]]
    keys = list(dict.fromkeys(k for s in series for k in s.labels if k != "__name__"))
    d = pd.view.display
    rows = [[s.labels.get(k, "") for k in keys] + [shown(pd, reduce(s, d.calc), "")[0]] for s in series]
    return organized(keys + ["Value"], rows[:MAX_TABLE_ROWS], transformations)


def table_frames(pd: PanelData) -> list[str]:
    """The refIds of a table's ``format: table`` queries that returned rows, in query order
    (each one frame); empty when some of its series come from other queries."""
    tables = {t.ref_id for t in pd.view.instance.panel.visible_targets if t.raw.get("format") == "table"}
    refs = list(dict.fromkeys(s.ref_id for s in pd.series))
    return refs if refs and set(refs) <= tables else []


def frames_note(pd: PanelData) -> str | None:
    """What the report says when a table shows one of several frames, as Grafana does."""
    frames = table_frames(pd)
    if pd.view.kind != "table" or len(frames) < 2 or _applies(pd.view.instance.panel.raw.get("transformations"), "merge"):
        return None
    return f"query {frames[0]}: 1 of {len(frames)} frames (Grafana shows a frame selector; a merge transformation joins them)"


def _applies(transformations: Any, ident: str) -> bool:
    return isinstance(transformations, list) and any(
        isinstance(t, dict) and t.get("id") == ident and not t.get("disabled") for t in transformations)


def _merged(pd: PanelData, frames: list[str]) -> tuple[list[str], list[list[str]]]:
    """Grafana's ``merge``: rows whose label columns agree become one, a value column per query."""
    keys = list(dict.fromkeys(k for s in pd.series for k in s.labels if k != "__name__"))
    d = pd.view.display
    merged: dict[tuple[str, ...], dict[str, str]] = {}
    for s in pd.series:
        row = tuple(s.labels.get(k, "") for k in keys)
        merged.setdefault(row, {})[s.ref_id] = shown(pd, reduce(s, d.calc), "")[0]
    head = keys + [f"Value #{ref}" for ref in frames]
    return head, [list(row) + [values.get(ref, "") for ref in frames] for row, values in merged.items()]


def unapplied_transformations(pd: PanelData) -> list[str]:
    """The panel's transformations the report does not apply (all but a table's ``organize``)."""
    raw = pd.view.instance.panel.raw.get("transformations")
    ids = [str(t.get("id")) for t in raw if isinstance(t, dict) and t.get("id") and not t.get("disabled")] if isinstance(raw, list) else []
    return list(dict.fromkeys(i for i in ids if not (i in ("organize", "merge") and pd.view.kind == "table")))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def organized(head: list[str], rows: list[list[str]], transformations: Any) -> tuple[list[str], list[list[str]]]:
    """Grafana's ``organize`` transformation on the table's columns: ``excludeByName`` drops,
    ``indexByName`` orders (unlisted columns after the listed ones), ``renameByName`` renames.
    Other transformations are not applied (the table shows the query's own columns)."""
    for tr in transformations if isinstance(transformations, list) else []:
        options = tr.get("options") if isinstance(tr, dict) and tr.get("id") == "organize" else None
        if not isinstance(options, dict):
            continue
        exclude, index, rename = (_mapping(options.get(k)) for k in ("excludeByName", "indexByName", "renameByName"))
        kept = [i for i, h in enumerate(head) if not exclude.get(h)]
        keep = sorted(kept, key=lambda i: (0, index[head[i]]) if isinstance(index.get(head[i]), int) else (1, i))
        head = [str(rename.get(head[i]) or head[i]) for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    return head, rows


def table_html(pd: PanelData) -> str:
    head, rows = table_rows(pd)
    cells = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="data"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'


def _level(labels: dict[str, str] | Any, line: str) -> str:
    level = str(labels.get("level") or labels.get("detected_level") or "")
    if not level:
        lowered = line[:200].lower()
        level = next((name for name in ("error", "warn", "info", "debug") if name in lowered), "")
    return level.lower()


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%M:%S")


def logs_html(pd: PanelData) -> str:
    lines = []
    for ln in pd.logs[:MAX_LOG_LINES]:
        color = LOG_LEVEL_COLORS.get(_level(dict(ln.labels), ln.line), theme.MUTED)
        lines.append(f'<div class="log"><span class="lvl" style="background:{color}"></span>'
                     f'<span class="ts">{_clock(ln.time)}</span> {esc(ln.line)}</div>')
    return '<div class="logs">' + "".join(lines) + "</div>"


def alertlist_html(active: Sequence[dict[str, Any]]) -> str:
    if not active:
        return '<div class="msg"><div class="big">No alerts</div><div>nothing pending or firing</div></div>'
    rows = []
    for a in active:
        labels = a.get("labels") or {}
        state = str(a.get("state", ""))
        rows.append(f'<tr><td><span class="state {esc(state)}">{esc(state)}</span></td><td>{esc(labels.get("alertname", ""))}</td>'
                    f'<td>{esc(labels.get("severity", ""))}</td><td>{esc(str(a.get("activeAt", ""))[:19])}</td></tr>')
    return '<table class="data"><thead><tr><th>state</th><th>alert</th><th>severity</th><th>active since</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>"


def message_html(pd: PanelData) -> str:
    head, reason = message(pd)
    query = pd.verdict.query if pd.verdict.status in ("empty", "error") else ""
    cls = "msg error" if pd.verdict.status == "error" else "msg"
    q = f'<code>{esc(query)}</code>' if query else ""
    return f'<div class="{cls}"><div class="big">{esc(head)}</div><div>{esc(reason)}</div>{q}</div>'


def body_html(pd: PanelData, w: int, h: int, active_alerts: Sequence[dict[str, Any]]) -> str:
    kind = pd.view.kind
    if has_chart(pd):
        return chart_svg(pd, w, h)
    if kind == "table" and pd.series:
        return table_html(pd)
    if kind == "logs" and pd.logs:
        return logs_html(pd)
    if kind == "text":
        return text_html(pd.view.display.text, str(pd.view.display.options.get("mode") or "markdown"))
    if kind == "alertlist":
        return alertlist_html(active_alerts)
    return message_html(pd)


def text_html(text: str, mode: str) -> str:
    """A text panel: markdown as HTML (markdown-it, raw HTML and images off: nothing may run or
    be fetched); ``html`` and ``code`` modes as the text itself."""
    if mode != "markdown":
        return f'<pre class="text">{esc(text)}</pre>'
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).disable("image")
    return f'<div class="text">{md.render(text)}</div>'



def _text_lines(pd: PanelData, active_alerts: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    kind = pd.view.kind
    if kind == "table" and pd.series:
        columns, rows = table_rows(pd)
        return [(" | ".join(columns), theme.MUTED)] + [(" | ".join(r), theme.TEXT) for r in rows]
    if kind == "logs" and pd.logs:
        return [(f"{_clock(ln.time)} {ln.line}", LOG_LEVEL_COLORS.get(_level(dict(ln.labels), ln.line), theme.TEXT)) for ln in pd.logs]
    if kind == "text":
        return [(line, theme.TEXT) for line in pd.view.display.text.splitlines()]
    if kind == "alertlist":
        return [(f"{a.get('state')}  {(a.get('labels') or {}).get('alertname')}", theme.STATUS_COLORS.get(str(a.get("state")), theme.TEXT))
                for a in active_alerts] or [("No alerts", theme.MUTED)]
    head, reason = message(pd)
    return [(head, theme.STATUS_COLORS.get(pd.verdict.status, theme.TEXT)), (reason, theme.MUTED)]


def png_bytes(pd: PanelData, w: int, h: int, active_alerts: Sequence[dict[str, Any]]) -> bytes:
    title = f"{pd.view.title}  [{pd.verdict.status}]"
    if has_chart(pd):
        return charts.png(charts.draw(pd, w, h, title=title, legend=True))
    return charts.png(charts.text_figure(w, h, title, _text_lines(pd, active_alerts)))


def finite_or_none(v: float) -> float | None:
    return v if math.isfinite(v) else None
