"""PromQL through promql-parser: selectors, the structure seeding infers types from, and which
missing metric matters under set-operator semantics."""

from __future__ import annotations

import pytest

from stackctl.query.promql import Matcher, PromQLError, Selector, metric_names, missing_selectors, parse, selectors


@pytest.mark.parametrize(("expr", "names"), [
    ("rate(http_requests_total[5m])", ["http_requests_total"]),
    ("histogram_quantile(0.95, sum(rate(x_bucket[5m])) by (le, backend))", ["x_bucket"]),
    ('up{job="a{b}", path=~"/x/[a-z]+{2}"}', ["up"]),
    ('{__name__="cluster_jobs_total", outcome="ok"}', ["cluster_jobs_total"]),
    ("a / on(instance) group_left(name) b", ["a", "b"]),
    ("a / ignoring(outcome) group_right c", ["a", "c"]),
    ("a > bool 3", ["a"]),
    ("sum without (pod) (a) unless b", ["a", "b"]),
    ("preview_generation_job_duration_ms:p95 > 300000", ["preview_generation_job_duration_ms:p95"]),
    ('label_replace(a, "dst", "$1", "src", "(.*)")', ["a"]),
    ("max_over_time(rate(a[5m])[1h:1m])", ["a"]),
    ("1e3 * a + 0x1f - Inf + NaN", ["a"]),
    ("a @ start() + b @ 1609746000 offset 5m", ["a", "b"]),
    ("# a comment naming not_a_metric\nreal_metric", ["real_metric"]),
    ("sum(a) by (le) / sum(b) without (x)", ["a", "b"]),
])
def test_metric_names(expr: str, names: list[str]) -> None:
    assert metric_names(expr) == names


def test_selectors_carry_matchers_range_and_offset() -> None:
    (sel,) = selectors('rate(x{a="1", b=~"c|d"}[5m] offset 1h)')
    assert sel == Selector("x", (Matcher("a", "=", "1"), Matcher("b", "=~", "c|d")), 300.0, 3600.0)
    assert str(sel) == 'x{a="1",b=~"c|d"}'
    (regex,) = selectors('{__name__=~"http_.*_total"}')
    assert regex.name is None and regex.exists_in({"http_requests_total"}) and not regex.exists_in({"grpc_requests_total"})
    assert Matcher("a", "!~", "x.*").matches("y") and not Matcher("a", "=~", "x").matches("xx")


def test_structure_for_type_inference() -> None:
    q = parse('histogram_quantile(0.99, sum by (le, job) (rate(req_seconds_bucket{job="api"}[5m]))) > 0.5')
    (use,) = q.uses
    assert use.as_counter and use.as_histogram and use.grouping == ("le", "job")
    assert use.functions == ("rate", "histogram_quantile") and use.thresholds == ((">", 0.5),)
    assert use.first("function", "histogram_quantile").param == 0.99  # type: ignore[union-attr]
    flipped = parse("0.5 < x").uses[0]
    assert flipped.thresholds == ((">", 0.5),)


def test_joins_record_vector_matching() -> None:
    q = parse("sum by (job) (rate(a[5m])) / on(job) group_left(team) b * ignoring(x) c and on() d")
    ops = {j.op: j for j in q.joins}
    assert ops["/"].on == ("job",) and ops["/"].group == "left" and ops["/"].group_labels == ("team",)
    assert ops["*"].ignoring == ("x",) and ops["and"].on == ()
    assert [s.name for s in ops["and"].rhs] == ["d"]
    step = q.uses[1].first("binary", "/")
    assert step is not None and step.side == "rhs" and step.matching and step.labels == ("job",)


def test_missing_uses_set_operator_semantics() -> None:
    assert missing_selectors("rate(http_requets_total[5m])", {"http_requests_total"}) == [Selector("http_requets_total", range=300.0)]
    assert missing_selectors("x unless y", {"x"}) == []  # `x unless y` does not need y
    assert [s.name for s in missing_selectors("x unless y", {"y"})] == ["x"]
    assert missing_selectors("sum(a or b)", {"b"}) == [] and [s.name for s in missing_selectors("a or b", set())] == ["a", "b"]
    assert [s.name for s in missing_selectors("a and b", {"a"})] == ["b"]
    assert missing_selectors('absent(up{job="gone"}) and on() present', {"present"}) == []
    assert missing_selectors('count(ALERTS{alertstate="firing"}) or vector(0)', set()) == []
    assert missing_selectors("vector(1) + time()", set()) == []


def test_parse_errors() -> None:
    with pytest.raises(PromQLError, match="parenthesis"):
        parse("sum(rate(x[5m]) /")
