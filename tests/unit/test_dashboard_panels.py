"""Reading dashboards: panels in rows (expanded and collapsed), datasources, macros, variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import pytest

from stackctl.dashboards import panels as dash

NOW = 1_700_000_000.0


def _panel(title: str, expr: str, ds: object = None, **extra: object) -> dict[str, object]:
    target: dict[str, object] = {"refId": "A", "expr": expr}
    if ds is not None:
        target["datasource"] = ds
    return {"type": "timeseries", "title": title, "targets": [target], **extra}


def _write(tmp_path: Path, data: Mapping[str, Any]) -> Path:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data))
    return path


def test_window_and_macros() -> None:
    window = dash.window_for({"time": {"from": "now-6h", "to": "now"}}, NOW)
    assert window.range == 6 * 3600 and window.step == 360
    m = dash.macros(window, 60, 15)
    assert m["__rate_interval"] == "75s"  # max(60 + 15, 4 * 15)
    assert dash.macros(window, 15, 15)["__rate_interval"] == "1m"  # 4 * scrape wins
    assert m["__range"] == "6h" and m["__interval"] == "1m" and m["__range_s"] == "21600"


@pytest.mark.parametrize(("value", "expected"), [
    ("now", NOW), ("now-1h", NOW - 3600), ("now-7d", NOW - 7 * 86400), ("now/d", NOW),
    ("1700000000000", 1_700_000_000.0), ("2023-11-14T22:13:20Z", 1_700_000_000.0),
])
def test_parse_time(value: str, expected: float) -> None:
    assert dash.parse_time(value, NOW) == expected


def test_variables_current_all_and_multi() -> None:
    data = {"templating": {"list": [
        {"name": "endpoint", "type": "query", "includeAll": True, "current": {"text": ["All"], "value": ["$__all"]}},
        {"name": "job", "type": "query", "allValue": "api|web", "current": {"value": "$__all"}},
        {"name": "env", "type": "custom", "multi": True, "current": {"value": ["a", "b.c"]}},
        {"name": "pet_id", "type": "textbox", "query": ".*", "current": {}},
        {"name": "one", "type": "custom", "current": {"value": "x"}},
        {"name": "ds", "type": "datasource", "query": "prometheus", "current": {"value": "default"}},
    ]}}
    values = dash.variable_values(data)
    assert values == {"endpoint": ".*", "job": "api|web", "env": r"(a|b\.c)", "pet_id": ".*", "one": "x", "ds": "prometheus"}


def test_resolve_every_syntax() -> None:
    values = {"a": "1", "b": "2", "job_id": ".*", "__rate_interval": "1m"}
    expr = 'x{a="$a", b="${b}", c="[[a]]", d="${b:regex}", e=~"$job_id", f="$unknown"}[$__rate_interval]'
    assert dash.resolve(expr, values) == 'x{a="1", b="2", c="1", d="2", e=~".*", f="$unknown"}[1m]'


def test_panels_in_rows_collapsed_and_expanded(tmp_path: Path) -> None:
    data = {"title": "D", "time": {"from": "now-1h", "to": "now"}, "panels": [
        {"type": "row", "title": "open row", "collapsed": False, "panels": []},
        _panel("top", "a"),
        {"type": "row", "title": "closed", "collapsed": True, "panels": [_panel("nested", "b"), {"type": "row", "panels": [_panel("deeper", "c")]}]},
        {"type": "text", "title": "notes"},
    ]}
    d = dash.load(_write(tmp_path, data), NOW)
    assert [p.title for p in d.panels] == ["top", "nested", "deeper", "notes"]
    assert [t.expr for p in d.panels for t in p.targets] == ["a", "b", "c"]


def test_datasources_panel_target_mixed_and_hidden(tmp_path: Path) -> None:
    loki = {"type": "loki", "uid": "loki"}
    data = {"panels": [
        _panel("default", "a"),
        _panel("logs", '{service="x"} |~ "$q"', None, datasource=loki),
        {"type": "timeseries", "title": "mixed", "datasource": {"uid": "-- Mixed --"},
         "targets": [{"refId": "A", "expr": "m", "datasource": {"uid": "prometheus"}},
                     {"refId": "B", "expr": '{app="y"}', "datasource": loki},
                     {"refId": "C", "expr": "hidden", "hide": True}]},
        _panel("legacy", "b", None, datasource="Prometheus"),
        _panel("other", "c", None, datasource={"type": "testdata", "uid": "td"}),
    ], "templating": {"list": [{"name": "q", "type": "textbox", "current": {"value": "err"}}]}}
    d = dash.load(_write(tmp_path, data), NOW)
    kinds = {p.title: [(t.datasource, t.expr) for t in p.targets] for p in d.panels}
    assert kinds == {
        "default": [("prometheus", "a")], "logs": [("loki", '{service="x"} |~ "err"')],
        "mixed": [("prometheus", "m"), ("loki", '{app="y"}')], "legacy": [("prometheus", "b")],
        "other": [("other:td", "c")],
    }


def test_panel_min_interval_raises_interval(tmp_path: Path) -> None:
    data = {"panels": [_panel("p", "increase(x[$__interval])", None, interval="5m")]}
    (panel,) = dash.load(_write(tmp_path, data), NOW).panels
    assert panel.targets[0].expr == "increase(x[5m])"


def test_dashboard_files_prefers_rendered(tmp_path: Path) -> None:
    rendered, shipped, extra = tmp_path / "r", tmp_path / "s", tmp_path / "e"
    for folder in (shipped / "p", extra):
        folder.mkdir(parents=True)
        (folder / "x.json").write_text("{}")
    assert dash.dashboard_files(rendered, shipped, (extra,)) == [(shipped / "p" / "x.json").resolve(), (extra / "x.json").resolve()]
    (rendered / "p").mkdir(parents=True)
    (rendered / "p" / "y.json").write_text("{}")
    assert dash.dashboard_files(rendered, shipped)[0].name == "y.json"
