"""LogQL: stream selectors, log vs metric queries, what Loki refuses."""

from __future__ import annotations

import pytest

from stackctl.query.logql import LogQLError, parse, stream_selectors
from stackctl.query.promql import Matcher


def test_log_query_with_filters_and_stages() -> None:
    q = parse('{service="preview-jobs", level=~"warn|error"} |= "timeout {x}" != `debug` | json | line_format "{{.msg}}"')
    assert q.selectors == ((Matcher("service", "=", "preview-jobs"), Matcher("level", "=~", "warn|error")),)
    assert not q.metric and q.line_filters == 2 and q.stages == ("json", "line_format")
    assert q.labels == {"service": "preview-jobs"}


def test_metric_queries() -> None:
    q = parse('sum by (level) (count_over_time({app="x"} |~ "err" [5m])) / sum(rate({app="y"}[1m]))')
    assert q.metric and q.functions[:2] == ("sum", "count_over_time") and q.ranges == ("5m", "1m")
    assert [s[0].value for s in q.selectors] == ["x", "y"]
    assert stream_selectors('rate({a=~".+"}[1m])') == [(Matcher("a", "=~", ".+"),)]


@pytest.mark.parametrize(("expr", "message"), [
    ('{a=~".*"}', "empty-compatible"),
    ("{}", "at least one"),
    ("sum(x)", "stream selector"),
    ('{a="b"', "unbalanced"),
    ('sum({a="b"})', "range aggregation"),
    ('{a="b"} |= "unterminated', "unterminated"),
])
def test_what_loki_refuses(expr: str, message: str) -> None:
    with pytest.raises(LogQLError, match=message):
        parse(expr)


def test_grouping_unwrap_and_label_filters() -> None:
    q = parse('sum by (route, status) (rate({app="api"} | json | level="error" | unwrap duration(latency) [5m]))')
    assert q.grouping == ("route", "status") and q.unwrap == "latency"
    assert q.label_filters == (Matcher("level", "=", "error"),) and q.stages == ("json",)
