"""The report's model of a dashboard, its layout and the page, without a server: a
dashboard file, hand-made query results, and the HTML read back."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from stackctl.dashboards import Resolver, load_dashboard
from stackctl.report import layout, page, source
from stackctl.report.collect import PanelData, loki_data, prometheus_series, series_name
from stackctl.report.model import Alerts, Report
from stackctl.report.source import DashboardView, Grid
from stackctl.verify.checks import CheckResult
from stackctl.verify.dashboards import ResolvedDashboard

NOW = 1_800_000_000.0
PROM = {"type": "prometheus", "uid": "prometheus"}


def _board(tmp_path: Path) -> Path:
    doc = {"title": "Shop", "time": {"from": "now-1h", "to": "now"}, "panels": [
        {"type": "timeseries", "title": "Requests", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}, "datasource": PROM,
         "fieldConfig": {"defaults": {"unit": "reqps", "custom": {"fillOpacity": 10}}},
         "targets": [{"refId": "A", "expr": "sum by (code) (rate(http_requests_total[5m]))", "legendFormat": "{{code}}"}]},
        {"type": "stat", "title": "Errors", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8}, "datasource": PROM,
         "fieldConfig": {"defaults": {"unit": "percentunit", "thresholds": {"mode": "absolute", "steps": [
             {"color": "green", "value": None}, {"color": "red", "value": 0.05}]}}},
         "options": {"reduceOptions": {"calcs": ["mean"]}, "colorMode": "background"},
         "targets": [{"refId": "A", "expr": "sum(rate(errors_total[5m])) / sum(rate(http_requests_total[5m]))"}]},
        {"type": "row", "title": "Details", "collapsed": True, "gridPos": {"x": 0, "y": 8, "w": 24, "h": 1}, "panels": [
            {"type": "table", "title": "Typo", "gridPos": {"x": 0, "y": 30, "w": 24, "h": 6},
             "targets": [{"refId": "A", "expr": "http_requets_total"}]},
            {"type": "logs", "title": "Logs", "gridPos": {"x": 0, "y": 30, "w": 24, "h": 6}, "datasource": {"type": "loki", "uid": "loki"},
             "targets": [{"refId": "A", "expr": '{app="shop"}'}]}]},
    ]}
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(doc))
    return path


def _view(path: Path) -> DashboardView:
    d = load_dashboard(path)
    r = Resolver(d, None, NOW)  # variables from their saved state: no server here
    return source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations())), NOW)


def _matrix(labels: dict[str, str], values: list[float], start: float = NOW - 600, step: float = 20) -> dict[str, object]:
    return {"metric": labels, "values": [[start + i * step, str(v)] for i, v in enumerate(values)]}


def test_view_reads_grid_rows_units_and_thresholds(tmp_path: Path) -> None:
    dv = _view(_board(tmp_path))
    assert [s.title for s in dv.sections] == [None, "Details"] and dv.sections[1].collapsed
    requests, errors, typo, logs = dv.panels
    assert requests.grid == Grid(0, 0, 12, 8) and requests.display.unit == "reqps" and requests.display.legends == {"A": "{{code}}"}
    assert errors.kind == "stat" and errors.display.calc == "mean" and errors.display.thresholds.color_for(0.1) == "#F2495C"
    assert typo.kind == "table" and logs.kind == "logs" and logs.instance.targets[0].kind == "loki"


def test_collapsed_rows_and_overlaps_are_laid_out_without_overlap() -> None:
    grids = layout.compact([Grid(0, 30, 24, 6), Grid(0, 30, 24, 6), Grid(6, 33, 6, 2)])
    assert grids == [Grid(0, 0, 24, 6), Grid(0, 6, 24, 6), Grid(6, 12, 6, 2)]
    assert layout.grid_height(grids) == 14 * layout.ROW
    rect = layout.panel_rect(Grid(12, 1, 12, 8), 100)
    assert (rect.left, rect.top, rect.width, rect.height) == (layout.PAD + 12 * layout.COL, 100 + layout.ROW, 12 * layout.COL - layout.GAP, 8 * layout.ROW - layout.GAP)


def test_series_names_steps_and_results() -> None:
    assert series_name("sum(x)", "{{code}} on {{ host }}", {"code": "500", "host": "a"}) == "500 on a"
    assert series_name("sum(x)", "{{missing}}", {"code": "500"}) == '{code="500"}'
    assert series_name("sum(x)", "", {"__name__": "up", "job": "x"}) == 'up{job="x"}' and series_name("sum(x)", "", {}) == "sum(x)"
    (s,) = prometheus_series("sum(x)", "A", "", (_matrix({"code": "200"}, [1, 2, float("nan")]),))
    assert s.values[:2] == (1.0, 2.0) and s.times[1] - s.times[0] == 20 and s.ref_id == "A"
    series, lines = loki_data("{app=\"shop\"}", "A", "", ({"stream": {"app": "shop"}, "values": [["1000000000", "a"], ["3000000000", "b"]]},))
    assert not series and [ln.line for ln in lines] == ["b", "a"]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    dv = _view(_board(tmp_path))
    requests, errors, typo, logs = dv.panels
    req_series = prometheus_series("q", "A", "{{code}}", (_matrix({"code": "200"}, [5, 6, 7]), _matrix({"code": "500"}, [1, 1, 2])))
    err_series = prometheus_series("q", "A", "", (_matrix({}, [0.1, 0.2, 0.3]),))
    win = (NOW - 3600, NOW)
    panels = [
        PanelData(requests, CheckResult("panel", "Shop", "Requests", "q", "populated", "2 series"), 20, win, series=req_series),
        PanelData(errors, CheckResult("panel", "Shop", "Errors", "q", "populated", "1 series"), 20, win, series=err_series),
        PanelData(typo, CheckResult("panel", "Shop", "Typo", "http_requets_total", "empty", "no data over 60m"), 20, win),
        PanelData(logs, CheckResult("panel", "Shop", "Logs", "", "skipped", "Loki is not running"), 20, win),
    ]
    alerts = Alerts([{"labels": {"alertname": "HighErrors", "severity": "page"}, "state": "firing", "activeAt": "2027-01-15T08:00:00Z", "value": "0.2"}],
                    ["SlowRequests"], [], [])
    report = Report(NOW, "http://127.0.0.1:9090", "Loki is not running", None, None, alerts, [(dv, panels)])
    html = page.render(report)
    block = re.search(r'<script type="application/json" id="stackctl-report-data">(.*?)</script>', html, re.S)
    assert block is not None
    return html, json.loads(block.group(1))


def test_page_is_self_contained(rendered: tuple[str, dict[str, Any]]) -> None:
    html, _ = rendered
    parser = _Collector()
    parser.feed(html)
    scripts = [a for t, a in parser.tags if t == "script"]
    assert scripts == [{"type": "application/json", "id": "stackctl-report-data"}]  # data, never run
    assert not [t for t, _ in parser.tags if t in ("link", "iframe", "object", "embed")]
    sources = [a.get("src") or "" for t, a in parser.tags if t == "img"]
    assert len(sources) == 2 and all(s.startswith("data:image/svg+xml;base64,") for s in sources)
    assert "@import" not in html and "url(" not in html


def test_page_holds_every_panel_with_its_verdict_data_and_place(rendered: tuple[str, dict[str, Any]]) -> None:
    html, data = rendered
    panels = data["panels"]
    assert isinstance(panels, list)
    assert [(p["title"], p["status"], p["drawn"]) for p in panels] == [
        ("Requests", "populated", True), ("Errors", "populated", True), ("Typo", "empty", False), ("Logs", "skipped", False)]
    assert panels[0]["series"][1]["name"] == "500" and [v for _, v in panels[0]["series"][1]["values"]] == [1.0, 1.0, 2.0]
    assert panels[1]["series"][0]["values"][2][1] == 0.3
    rects = [p["rect"] for p in panels]
    assert rects[0][1] == rects[1][1] and rects[0][0] < rects[1][0]  # side by side, as gridPos says
    assert rects[2][1] > rects[0][1] + rects[0][3] and rects[3][1] >= rects[2][1] + rects[2][3]  # the row's panels below, in turn
    assert "No data" in html and "http_requets_total" in html and "Not queried" in html and "Details (collapsed)" in html
    assert "HighErrors" in html and "firing" in html and "SlowRequests" in html
    assert data["page"]["height"] >= rects[3][1] + rects[3][3]


def test_every_panel_also_draws_as_png(rendered: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    import io

    from matplotlib import image

    dv = _view(_board(tmp_path))
    for pv in dv.panels:
        pd = PanelData(pv, CheckResult("panel", "Shop", pv.title, "", "empty", "no data"), 20, (NOW - 3600, NOW))
        img = image.imread(io.BytesIO(page.panel_png(pd, Report(NOW, "", "", None, None, Alerts([], [], [], [])))), format="png")
        assert img.shape[0] == layout.panel_rect(pv.grid, 0).height and img.std() > 0.01


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dashboards"


def test_repeats_sit_side_by_side_and_legacy_rows_flow() -> None:
    repeat = _view(FIXTURES / "rows-collapsed-repeat.json")
    # a repeated row is one row per value, as Grafana lays it out (each copy under its own heading)
    internals = [s for s in repeat.sections if s.title == "Internals"]
    assert all(s.collapsed for s in internals)
    assert [[(p.title, p.grid.x, p.grid.w) for p in s.panels] for s in internals] == [[("GC (job=api)", 0, 12)], [("GC (job=worker)", 0, 12)]]
    legacy = _view(FIXTURES / "legacy-rows.json")
    cpu = legacy.sections[0]
    assert cpu.title == "CPU" and [(p.grid.x, p.grid.y, p.grid.w) for p in cpu.panels] == [(0, 0, 12), (12, 0, 12)]


def test_logs_panels_show_their_lines_newest_first_with_levels(tmp_path: Path) -> None:
    from stackctl.report import bodies

    logs = _view(_board(tmp_path)).panels[3]
    _, lines = loki_data('{app="shop"}', "A", "", (
        {"stream": {"app": "shop", "level": "error"}, "values": [["1800000000000000000", "payment <failed> for order 7"]]},
        {"stream": {"app": "shop"}, "values": [["1799999999000000000", "level=info msg=started"]]}))
    pd = PanelData(logs, CheckResult("panel", "Shop", "Logs", "", "populated", "2 series"), 15, (NOW - 3600, NOW), logs=lines)
    html = bodies.body_html(pd, 600, 200, [])
    assert html.index("payment &lt;failed&gt;") < html.index("msg=started")  # newest first, escaped
    assert bodies.LOG_LEVEL_COLORS["error"] in html and bodies.LOG_LEVEL_COLORS["info"] in html


def test_text_panels_render_markdown_without_fetching_or_running_anything() -> None:
    from stackctl.report import bodies

    html = bodies.text_html("# Runbook\n\n**Page** the on-call. ![logo](http://example.com/x.png) <script>alert(1)</script>", "markdown")
    assert "<h1>Runbook</h1>" in html and "<strong>Page</strong>" in html
    assert "<img" not in html and "<script>" not in html and "&lt;script&gt;" in html
    assert bodies.text_html("<b>raw</b>", "html") == '<pre class="text">&lt;b&gt;raw&lt;/b&gt;</pre>'


def _all_kinds(tmp_path: Path) -> Path:
    kinds = ["timeseries", "graph", "stat", "gauge", "bargauge", "heatmap", "histogram", "piechart", "table", "barchart"]
    panels = [{"id": i + 1, "type": k, "title": k, "gridPos": {"x": (i % 2) * 12, "y": (i // 2) * 8, "w": 12, "h": 8}, "datasource": PROM,
               "fieldConfig": {"defaults": {"unit": "s", "custom": {"stacking": {"mode": "normal"}, "fillOpacity": 20,
                                                                 "scaleDistribution": {"type": "log", "log": 2} if i == 1 else {},
                                                                 "axisSoftMax": 1000}}},
               "targets": [{"refId": "A", "expr": "sum by (le) (rate(x_bucket[5m]))"}]} for i, k in enumerate(kinds)]
    path = tmp_path / "kinds.json"
    path.write_text(json.dumps({"title": "Kinds", "time": {"from": "now-1h", "to": "now"}, "panels": panels}))
    return path


def test_every_panel_kind_draws_a_chart_and_a_png(tmp_path: Path) -> None:
    import io

    from matplotlib import image

    dv = _view(_all_kinds(tmp_path))
    buckets = tuple(_matrix({"le": le}, [c * (i + 1) for i in range(30)], step=120) for le, c in (("0.1", 1), ("1", 3), ("+Inf", 4)))
    panels = [PanelData(pv, CheckResult("panel", "Kinds", pv.title, "q", "populated", "3 series"), 120, (NOW - 3600, NOW),
                        series=prometheus_series("q", "A", "", buckets)) for pv in dv.panels]
    report = Report(NOW, "", "", None, None, Alerts([], [], [], []), [(dv, panels)])
    html = page.render(report)
    block = re.search(r'<script type="application/json" id="stackctl-report-data">(.*?)</script>', html, re.S)
    assert block is not None
    doc = json.loads(block.group(1))
    assert [p["drawn"] for p in doc["panels"]] == [True] * 8 + [False, True]  # a table is HTML
    assert html.count('<img class="chart"') == 9 and "<table class=\"data\">" in html
    for pd in panels:
        img = image.imread(io.BytesIO(page.panel_png(pd, report)), format="png")
        assert img.std() > 0.02, pd.view.title


def test_stat_values_use_value_mappings_and_no_value(tmp_path: Path) -> None:
    from stackctl.report import values

    doc = {"title": "Health", "panels": [{"type": "stat", "title": "Up", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4}, "datasource": PROM,
           "fieldConfig": {"defaults": {"noValue": "gone", "mappings": [
               {"type": "value", "options": {"1": {"text": "UP", "color": "green"}, "0": {"text": "DOWN", "color": "red"}}}]}},
           "targets": [{"refId": "A", "expr": "up"}]}]}
    path = tmp_path / "health.json"
    path.write_text(json.dumps(doc))
    (pv,) = _view(path).panels
    series = prometheus_series("up", "A", "", (_matrix({"job": "a"}, [1, 1]), _matrix({"job": "b"}, [1, 0]), _matrix({"job": "c"}, [float("nan")])))
    pd = PanelData(pv, CheckResult("panel", "Health", "Up", "up", "populated", "3 series"), 20, (NOW - 3600, NOW), series=series)
    shown = [(v.text, v.color) for v in values.values(pd)]
    assert shown == [("UP", "#73BF69"), ("DOWN", "#F2495C"), ("gone", shown[2][1])]
