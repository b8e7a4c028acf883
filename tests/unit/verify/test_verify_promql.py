"""Metric-name extraction: what pint's series check would look up, and nothing else."""

from __future__ import annotations

import pytest

from stackctl.verify.promql import Selector, metric_names, missing_selectors, selectors


@pytest.mark.parametrize(("expr", "names"), [
    ("rate(http_requests_total[5m])", ["http_requests_total"]),
    ("sum by (le) (rate(api_ready_ms_bucket[5m]))", ["api_ready_ms_bucket"]),
    ("histogram_quantile(0.95, sum(rate(x_bucket[5m])) by (le, backend))", ["x_bucket"]),
    ('up{job="a{b}", path=~"/x/[a-z]+{2}"}', ["up"]),
    ('{__name__="cluster_jobs_total", outcome="ok"}', ["cluster_jobs_total"]),
    ("a / on(instance) group_left(name) b", ["a", "b"]),
    ("a / ignoring(outcome) group_right c", ["a", "c"]),
    ("a > bool 3", ["a"]),
    ("a offset 5m", ["a"]),
    ("sum without (pod) (a) unless b", ["a", "b"]),
    ("preview_generation_job_duration_ms:p95 > 300000", ["preview_generation_job_duration_ms:p95"]),
    ('label_replace(a, "dst", "$1", "src", "(.*)")', ["a"]),
    ("max_over_time(rate(a[5m])[1h:1m])", ["a"]),
    ("count(ALERTS{alertstate=\"firing\"}) or vector(0)", ["ALERTS"]),
    ("1e3 * a + 0x1f - Inf + NaN", ["a"]),
    ("topk(5, sum by (endpoint) (rate(b[5m])))", ["b"]),
    ("a @ start() + b @ 1609746000", ["a", "b"]),
    ("# a comment naming not_a_metric\nreal_metric", ["real_metric"]),
    ("a and on() b", ["a", "b"]),
    ("sum(a) by (le) / sum(b) without (x)", ["a", "b"]),
])
def test_metric_names(expr: str, names: list[str]) -> None:
    assert metric_names(expr) == names


def test_regex_name_selector_matches_known_names() -> None:
    (sel,) = selectors('{__name__=~"http_.*_total"}')
    assert sel == Selector("http_.*_total", regex=True)
    assert sel.matches({"http_requests_total"}) and not sel.matches({"grpc_requests_total"})


def test_missing_reports_typos() -> None:
    assert missing_selectors("rate(http_requets_total[5m])", {"http_requests_total"}) == [Selector("http_requets_total")]


def test_or_alternatives_need_only_one_present_side() -> None:
    known = {"process_resident_memory_bytes"}
    assert missing_selectors("sum(python_process_resident_memory_bytes or process_resident_memory_bytes)", known) == []
    assert missing_selectors("count(ALERTS{alertname=\"X\"}) or vector(0)", set()) == []
    both = missing_selectors("a or b", set())
    assert both == [Selector("a"), Selector("b")]


def test_absent_expects_missing_metric() -> None:
    assert missing_selectors('absent(up{job="gone"}) and on() present', {"present"}) == []


def test_alerts_series_are_builtin() -> None:
    assert missing_selectors('ALERTS{alertstate="firing"}', set()) == []
