"""Variables resolved as Grafana resolves them, per kind, over an in-memory series set (the
integration tests run the same resolution against a real Prometheus)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from stackctl.dashboards import Resolver, TimeRange, load_dashboard
from stackctl.dashboards.formats import Value, interpolate
from stackctl.dashboards.variables import apply_regex, custom_options, dependency_order, sort_options
from stackctl.query.prometheus import Sample
from stackctl.query.promql import parse

NOW = 1_700_000_000.0
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dashboards"


class Series:
    """A Reader over a fixed list of series (label sets), answering like Prometheus does."""

    def __init__(self, series: list[dict[str, str]]) -> None:
        self.all = series

    def _select(self, match: Sequence[str]) -> list[dict[str, str]]:
        if not match:
            return self.all
        out = []
        for m in match:
            sel = parse(m).selectors[0]
            out += [s for s in self.all if (sel.name is None or s["__name__"] == sel.name)
                    and all(x.matches(s.get(x.label)) for x in sel.matchers)]
        return out

    def label_values(self, label: str, start: float, end: float, match: Sequence[str] = ()) -> list[str]:
        return sorted({s[label] for s in self._select(match) if label in s})

    def label_names(self, start: float, end: float, match: Sequence[str] = ()) -> list[str]:
        return sorted({k for s in self._select(match) for k in s})

    def series(self, match: Sequence[str], start: float, end: float) -> list[dict[str, str]]:
        return self._select(match)

    def query(self, expr: str, time: float) -> tuple[list[Sample] | str | None, str | None]:
        return [Sample(s, "1", time) for s in self._select([expr])], None


NODES = Series([
    {"__name__": "node_uname_info", "instance": "web-1:9100", "job": "node", "nodename": "web-1"},
    {"__name__": "node_uname_info", "instance": "web-2:9100", "job": "node", "nodename": "web-2"},
    {"__name__": "node_uname_info", "instance": "db-10:9100", "job": "db", "nodename": "db-10"},
    {"__name__": "app_build_info", "instance": "api-1:8000", "job": "api", "version": "1.2"},
    {"__name__": "app_build_info", "instance": "wk-1:8000", "job": "worker", "version": "1.2"},
])


def _dash(*variables: dict[str, Any], expr: str = "up", **panel: Any) -> dict[str, Any]:
    return {"time": {"from": "now-24h", "to": "now"}, "templating": {"list": list(variables)},
            "panels": [{"type": "timeseries", "title": "P", "targets": [{"refId": "A", "expr": expr}], **panel}]}


def _values(data: dict[str, Any], reader: Any = NODES) -> dict[str, Value]:
    return Resolver(load_dashboard(data), reader, NOW).variables


def _exprs(data: dict[str, Any], reader: Any = NODES) -> list[tuple[str, str]]:
    return [(i.title, i.targets[0].expr if i.targets else i.skip or "") for i in Resolver(load_dashboard(data), reader, NOW).panels()]


def test_query_variable_is_run_and_a_stale_saved_value_replaced() -> None:
    var = {"name": "instance", "type": "query", "query": "label_values(node_uname_info{job=\"node\"}, instance)",
           "current": {"value": "gone:9100", "text": "gone:9100"}}
    v = _values(_dash(var))["instance"]
    assert v.values == ("web-1:9100",) and v.reason is None  # stale saved value: the first option


def test_label_values_of_a_label_alone_and_metrics_and_query_result() -> None:
    got = _values(_dash(
        {"name": "job", "type": "query", "query": "label_values(job)", "sort": 2, "current": {}},
        {"name": "m", "type": "query", "query": "metrics(_info$)", "multi": True, "current": {"value": ["$__all"]}, "includeAll": True},
        {"name": "ver", "type": "query", "query": "query_result(app_build_info)", "regex": '/version="([^"]+)"/', "current": {}},
    ))
    assert got["job"].values == ("worker",)  # sort 2: alphabetical descending, first selected
    assert got["m"].all and set(got["m"].values) == {"app_build_info", "node_uname_info"}
    assert got["ver"].values == ("1.2",)  # deduplicated capture group


def test_empty_variable_names_the_real_reason() -> None:
    var = {"name": "instance", "type": "query", "query": "label_values(node_uname_info, instance)", "current": {}}
    v = _values(_dash(var), Series([]))["instance"]
    assert v.reason == "variable `instance` has no values: no series of `node_uname_info`"
    (inst,) = Resolver(load_dashboard(_dash(var, expr='node_load1{instance="$instance"}')), Series([]), NOW).panels()
    assert inst.problem == v.reason
    missing_label = _values(_dash({**var, "query": "label_values(node_uname_info, pod)"}))["instance"]
    assert missing_label.reason == "variable `instance` has no values: the series of `node_uname_info` have no label `pod`"


def test_chained_variables_resolve_in_dependency_order() -> None:
    # `instance` is listed first but depends on `job`
    instance = {"name": "instance", "type": "query", "query": "label_values(node_uname_info{job=\"$job\"}, instance)",
                "multi": True, "includeAll": True, "current": {"value": "$__all"}}
    job = {"name": "job", "type": "query", "query": "label_values(node_uname_info, job)", "current": {"value": "node"}}
    d = load_dashboard(_dash(instance, job))
    assert [v.name for v in dependency_order(d.variables)] == ["job", "instance"]
    got = Resolver(d, NODES, NOW).variables
    assert got["instance"].values == ("web-1:9100", "web-2:9100")


def test_include_all_and_multi_value_formats() -> None:
    var = {"name": "instance", "type": "query", "query": "label_values(node_uname_info, instance)", "multi": True,
           "includeAll": True, "current": {"value": ["$__all"]}}
    expr = 'x{a=~"$instance"} ${instance:pipe} ${instance:csv} ${instance:raw} ${instance:regex} ${instance:json} ${instance:doublequote}'
    (got,) = _exprs(_dash(var, expr=expr))
    assert got[1] == ('x{a=~"(db-10:9100|web-1:9100|web-2:9100)"} db-10:9100|web-1:9100|web-2:9100 db-10:9100,web-1:9100,web-2:9100 '
                      'db-10:9100,web-1:9100,web-2:9100 (db-10:9100|web-1:9100|web-2:9100) '
                      '["db-10:9100", "web-1:9100", "web-2:9100"] "db-10:9100","web-1:9100","web-2:9100"')
    custom_all = {**var, "allValue": ".+"}
    assert _exprs(_dash(custom_all, expr='x{a=~"$instance"}'))[0][1] == 'x{a=~".+"}'


def test_prometheus_escaping_of_regex_values() -> None:
    values = {"v": Value(("a.b", "c|d"), multi=True), "one": Value(("it's",))}
    assert interpolate('x{a=~"$v"}', values) == r'x{a=~"(a\\.b|c\\|d)"}'
    assert interpolate("x{a='$one'}", values) == r"x{a='it\\'s'}"
    assert interpolate("$unknown [[v]] ${v:regex}", values) == r"$unknown (a\\.b|c\\|d) (a\.b|c\|d)"


def test_custom_constant_textbox_interval_datasource() -> None:
    got = _values(_dash(
        {"name": "env", "type": "custom", "query": "prod : production, dev\\,test", "current": {"text": "dev,test"}},
        {"name": "c", "type": "constant", "query": "shop"},
        {"name": "t", "type": "textbox", "query": "default", "current": {"value": "typed"}},
        {"name": "iv", "type": "interval", "query": "1m,10m,1h", "auto": True, "auto_count": 30, "auto_min": "10s",
         "current": {"text": "auto", "value": "$__auto_interval_iv"}},
        {"name": "ds", "type": "datasource", "query": "prometheus", "current": {}},
        {"name": "pg", "type": "datasource", "query": "postgres", "current": {}},
    ))
    assert got["env"].values == ("dev,test",) and got["c"].values == ("shop",) and got["t"].values == ("typed",)
    assert got["iv"].values == ("30m",)  # auto: 24h / 30 points = 48m, which Grafana's roundInterval makes 30m
    assert got["__auto_interval_iv"].values == ("30m",)  # the legacy spelling of the auto value
    assert got["ds"].values == ("prometheus",)
    assert got["pg"].reason == "variable `pg` has no values: the stack has no postgres datasource"
    assert custom_options("a, b : c") == [("a", "a"), ("b", "c")]


def test_regex_named_groups_and_sort_kinds() -> None:
    assert apply_regex(["up{instance=\"a:1\"}"], '/instance="(?<value>[^"]+)"/') == [("a:1", "a:1")]
    assert apply_regex(["x1", "y2"], "/^x/") == [("x1", "x1")]
    options = [(t, t) for t in ("b10", "a2", "B1")]
    assert [t for t, _ in sort_options(options, 1)] == ["B1", "a2", "b10"]
    assert [t for t, _ in sort_options(options, 3)] == ["B1", "a2", "b10"]
    assert [t for t, _ in sort_options(options, 4)] == ["b10", "a2", "B1"]
    assert [t for t, _ in sort_options(options, 5)] == ["a2", "B1", "b10"]
    assert [t for t, _ in sort_options(options, 7)] == ["a2", "B1", "b10"]


def test_repeated_panels_and_rows_are_checked_per_value() -> None:
    reader = Series([{"__name__": "app_build_info", "instance": i, "job": j} for i, j in
                     (("a:1", "api"), ("b:1", "api"), ("c:1", "worker"))])
    d = load_dashboard(FIXTURES / "rows-collapsed-repeat.json")
    titles = [i.title for i in Resolver(d, reader, NOW).panels()]
    assert titles == ["Up", "Latency $instance (instance=a:1)", "Latency $instance (instance=b:1)",
                      "Latency $instance (instance=c:1)", "GC (job=api)", "GC (job=worker)"]
    gc = [i.targets[0].expr for i in Resolver(d, reader, NOW).panels() if i.panel.title == "GC"]
    # 1h over ~940 px is under the 15 s scrape interval, so $__interval is 15s, and
    # $__rate_interval = max(15s + 15s, 4 * 15s) = 1m
    assert gc == ['rate(app_gc_seconds_total{job="api"}[1m])', 'rate(app_gc_seconds_total{job="worker"}[1m])']


def test_offline_uses_the_saved_selection() -> None:
    d = load_dashboard(FIXTURES / "legacy-rows.json")
    values = Resolver(d, None, NOW).variables
    assert values["instance"].values == ("stale:9100",)


def test_time_range_override() -> None:
    r = Resolver(load_dashboard(_dash()), None, NOW, time_range=TimeRange(NOW - 600, NOW))
    assert r.time_range.range == 600


def test_refresh_never_keeps_the_saved_options() -> None:
    var = {"name": "instance", "type": "query", "query": "label_values(node_uname_info, instance)", "refresh": 0,
           "options": [{"text": "saved:1", "value": "saved:1"}], "current": {"value": "saved:1"}}
    assert _values(_dash(var))["instance"].values == ("saved:1",)
    assert _values(_dash({**var, "refresh": 1}))["instance"].values == ("db-10:9100",)


def test_a_repeated_copy_formats_its_value_like_the_multi_value_variable() -> None:
    # Grafana regex-escapes a repeat copy's value for Prometheus when the variable is multi-value
    reader = Series([{"__name__": "node_uname_info", "instance": "10.0.0.1:9100"}])
    var = {"name": "instance", "type": "query", "query": "label_values(node_uname_info, instance)", "multi": True,
           "includeAll": True, "current": {"value": ["$__all"]}}
    (got,) = _exprs(_dash(var, expr='up{instance=~"$instance"}', repeat="instance"), reader)
    assert got == ("P (instance=10.0.0.1:9100)", r'up{instance=~"10\\.0\\.0\\.1:9100"}')


def test_search_filter_in_a_variable_query_matches_anything_on_load() -> None:
    var = {"name": "m", "type": "query", "query": 'label_values({__name__=~"node_$__searchFilter"}, instance)', "current": {}}
    assert _values(_dash(var))["m"].values == ("db-10:9100",)
