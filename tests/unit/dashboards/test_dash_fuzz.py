"""Fuzz the dashboard model: any JSON object loads and resolves (offline) without a crash;
what Grafana would ignore is ignored."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackctl.dashboards import Resolver, load_dashboard
from stackctl.query import logql, promql

KEYS = ["panels", "rows", "targets", "expr", "datasource", "uid", "type", "title", "templating", "list", "name", "query",
        "current", "value", "text", "options", "repeat", "libraryPanel", "__elements", "__inputs", "model", "annotations",
        "hide", "interval", "maxDataPoints", "gridPos", "w", "collapsed", "includeAll", "multi", "allValue", "regex", "sort",
        "refresh", "time", "from", "to", "timeFrom", "timeShift", "pluginId", "refId", "spec", "elements", "layout", "items"]
TEXT = st.sampled_from(["row", "query", "custom", "interval", "datasource", "prometheus", "loki", "$x", "${DS_A}", "-- Mixed --",
                        "now-1h", "1m", "up", "rate(x[$__rate_interval])", "label_values(up, job)", "$__all", ""]) | st.text(max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-100, 10**6), st.floats(allow_nan=True, allow_infinity=True), TEXT)
values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.sampled_from(KEYS), c, max_size=5)),
                      max_leaves=30)
objects = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=6) | st.fixed_dictionaries(
    {}, optional={"panels": st.lists(objects, max_size=4), "rows": st.lists(objects, max_size=2),
                  "templating": st.fixed_dictionaries({"list": st.lists(objects, max_size=4)}),
                  "annotations": st.fixed_dictionaries({"list": st.lists(objects, max_size=2)}),
                  "__elements": st.dictionaries(TEXT, objects, max_size=2), "__inputs": st.lists(objects, max_size=2),
                  "spec": objects, "time": objects})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_document_loads_and_resolves(doc: dict) -> None:  # type: ignore[type-arg]
    d = load_dashboard(doc)
    for inst in Resolver(d, None, 1_700_000_000.0).panels():
        for t in inst.targets:
            assert isinstance(t.expr, str) and t.step > 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_query_parsers_raise_only_their_errors(text: str) -> None:
    for parse, error in ((promql.parse, promql.PromQLError), (logql.parse, logql.LogQLError)):
        try:
            parse(text)
        except error:
            pass
