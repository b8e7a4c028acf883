"""Grafana's interval math: $__interval, $__rate_interval, $__range, $__auto, time ranges."""

from __future__ import annotations

import pytest

from stackctl.dashboards import Resolver, TimeRange, load_dashboard
from stackctl.dashboards.timing import format_interval, macros, panel_range, parse_duration, parse_time, query_interval, round_interval

NOW = 1_700_000_000.0


@pytest.mark.parametrize(("value", "expected"), [
    ("now", NOW), ("now-1h", NOW - 3600), ("now-7d", NOW - 7 * 86400), ("now/d", NOW), ("now-1d/d", NOW - 86400),
    ("1700000000000", 1_700_000_000.0), ("2023-11-14T22:13:20Z", 1_700_000_000.0),
])
def test_parse_time(value: str, expected: float) -> None:
    assert parse_time(value, NOW) == expected


@pytest.mark.parametrize(("text", "seconds"), [("1m", 60), ("30s", 30), (">15s", 15), ("1h30m", 5400), ("500ms", 0.5), ("", None), ("x", None)])
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_round_interval_and_format() -> None:
    assert round_interval(86.4) == 60 and round_interval(94) == 120 and round_interval(2.5) == 2
    assert [format_interval(s) for s in (60, 75, 3600, 86400, 0.5)] == ["1m", "75s", "1h", "1d", "500ms"]


def test_24h_on_a_full_width_panel_is_about_a_minute_not_24m() -> None:
    day = TimeRange(NOW - 86400, NOW)
    assert query_interval(day, 1880, 15) == 60  # Grafana: 86400 s / 1880 px = 46 s -> 1m
    assert query_interval(day, 1880, 300) == 300  # a 5m min interval wins
    assert query_interval(TimeRange(NOW - 3600, NOW), 940, 15) == 15  # never below the scrape interval


def test_macros() -> None:
    m = macros(TimeRange(NOW - 21600, NOW), 60, 15)
    assert m["__interval"] == "1m" and m["__rate_interval"] == "75s" and m["__range"] == "21600s"
    assert m["__range_s"] == "21600" and m["__interval_ms"] == "60000" and m["__auto"] == "1m"
    assert macros(TimeRange(NOW - 3600, NOW), 15, 15)["__rate_interval"] == "1m"  # 4 * scrape wins
    assert macros(TimeRange(NOW - 3600, NOW), 15, 15, instant=True)["__auto"] == "3600s"


def test_panel_relative_time_and_shift() -> None:
    base = TimeRange(NOW - 3600, NOW)
    assert panel_range(base, "24h", None) == TimeRange(NOW - 86400, NOW)
    assert panel_range(base, None, "1h") == TimeRange(NOW - 7200, NOW - 3600)


def test_resolved_target_step_and_macros() -> None:
    data = {"time": {"from": "now-24h", "to": "now"}, "panels": [
        {"type": "timeseries", "title": "wide", "gridPos": {"w": 24}, "targets": [
            {"refId": "A", "expr": "rate(x[$__rate_interval])"}, {"refId": "B", "expr": "increase(x[$__auto])", "instant": True},
            {"refId": "C", "expr": "increase(x[$__interval])", "interval": "5m"}]},
        {"type": "timeseries", "title": "points", "maxDataPoints": 100, "interval": "1m", "targets": [{"refId": "A", "expr": "x[$__interval]"}]},
    ]}
    wide, points = Resolver(load_dashboard(data), None, NOW).panels()
    assert [t.expr for t in wide.targets] == ["rate(x[75s])", "increase(x[86400s])", "increase(x[5m])"]
    assert wide.targets[0].step == 60 and wide.targets[0].end - wide.targets[0].start == 86400
    assert points.targets[0].expr == "x[10m]"  # 86400 / 100 = 864 s, which roundInterval makes 10m


def test_interval_factor_variable_min_interval_and_date_formats() -> None:
    data = {"time": {"from": "now-24h", "to": "now"},
            "templating": {"list": [{"name": "iv", "type": "interval", "query": "5m,1h", "current": {"value": "5m", "text": "5m"}}]},
            "panels": [{"type": "timeseries", "title": "p", "gridPos": {"w": 24}, "interval": "$iv", "targets": [
                {"refId": "A", "expr": "x[$__interval]"},
                {"refId": "B", "expr": "y[$__interval] @ ${__to:date:seconds}", "intervalFactor": 2}]}]}
    (inst,) = Resolver(load_dashboard(data), None, NOW).panels()
    assert inst.targets[0].expr == "x[5m]" and inst.targets[0].step == 300  # the panel's min interval, through $iv
    # Grafana multiplies the step by intervalFactor, and $__interval with it
    assert inst.targets[1].step == 600 and inst.targets[1].expr == f"y[10m] @ {int(NOW)}"
