"""The alert-state restore's arithmetic: rules from parsed files, range evaluation in chunks,
the run of evaluations that reaches now (activeAt), label sets and the ALERTS_FOR_STATE samples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from stackctl.seeding import alert_state
from stackctl.seeding.rule_history import MAX_POINTS, Rule, evaluate, expand_labels, rules_from_groups, run_start

NOW = 1_800_000_000.0


def test_rules_from_parsed_files_and_groups() -> None:
    doc = {"groups": [{"name": "g", "interval": "30s", "rules": [
        {"record": "job:x:rate5m", "expr": "sum(rate(x[5m]))"},
        {"alert": "XHigh", "expr": "job:x:rate5m > 1", "for": "15m", "labels": {"severity": "page"}},
    ]}]}
    bare_group = {"name": "h", "rules": [{"alert": "Y", "expr": "up == 0"}]}
    rules = rules_from_groups([doc, bare_group], default_interval_s=5)
    assert [(r.name, r.interval_s, r.for_s) for r in rules] == [("job:x:rate5m", 30, 0), ("XHigh", 30, 900), ("Y", 5, 0)]
    assert rules[1].alert == "XHigh" and rules[1].labels == {"severity": "page"} and rules[0].record == "job:x:rate5m"


def test_label_templates_take_the_series_labels_and_refuse_value() -> None:
    series = {"instance": "a:1", "job": "api"}
    assert expand_labels({"team": "t-{{ $labels.job }}", "x": "{{$labels.instance}}"}, series) == {"team": "t-api", "x": "a:1"}
    assert expand_labels({"v": "{{ $value }}"}, series) is None


def test_run_start_is_the_first_of_the_consecutive_evaluations_reaching_now() -> None:
    times = np.array([NOW - 100, NOW - 90, NOW - 50, NOW - 40, NOW - 30, NOW - 20, NOW - 10, NOW])
    assert run_start(times, NOW, 10) == NOW - 50  # the gap before -50 ends the earlier run
    assert run_start(times[:-1], NOW, 10) is None  # false at the last evaluation: not active
    assert run_start(np.array([]), NOW, 10) is None


def _fake_range(condition_since: float, labels: dict[str, str]) -> tuple[Any, list[tuple[float, float]]]:
    calls: list[tuple[float, float]] = []

    def query(expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        calls.append((start, end))
        points = [t for t in np.arange(start, end + step / 2, step) if t >= condition_since]
        return [{"metric": labels, "values": [[t, "1"] for t in points]}] if points else []

    return query, calls


def test_evaluate_reads_chunks_newest_first_and_stops_once_every_run_has_a_start() -> None:
    step = 1.0
    since = NOW - 1.5 * MAX_POINTS * step  # the condition holds across two chunks
    query, calls = _fake_range(since, {"a": "1"})
    got = evaluate(query, "x > 0", NOW - 86400, NOW, step, until_closed=True)
    times, _values = got[(("a", "1"),)]
    assert run_start(times, NOW, step) == pytest.approx(since, abs=step)
    assert len(calls) == 2 and calls[0][1] == NOW  # newest first; the window's other 6 chunks never read
    assert all(end - start <= (MAX_POINTS - 1) * step for start, end in calls)  # Prometheus' point limit


def test_active_alert_states_and_for_state_samples() -> None:
    firing = alert_state.Active("A", (("alertname", "A"), ("pack", "p")), NOW - 900, 600, NOW)
    pending = alert_state.Active("B", (("alertname", "B"),), NOW - 120, 300, NOW)
    assert firing.firing and "-> firing" in firing.describe()
    assert not pending.firing and "fires in 3m" in pending.describe()
    [sample] = alert_state.for_state_series([firing], 1_800_000_001_000)
    assert dict(sample.labels) == {"__name__": "ALERTS_FOR_STATE", "alertname": "A", "pack": "p"}
    assert sample.values.tolist() == [NOW - 900] and sample.timestamps.tolist() == [1_800_000_001_000]


def test_alert_labels_are_the_series_labels_plus_the_rule_labels_and_the_name() -> None:
    rule = Rule("g", "x > 1", 1.0, alert="XHigh", for_s=60, labels={"severity": "page", "job": "rule-wins"})
    labels = alert_state._alert_labels(rule, (("__name__", "x"), ("job", "api"), ("instance", "h:1")))
    assert dict(labels or ()) == {"alertname": "XHigh", "severity": "page", "job": "rule-wins", "instance": "h:1"}
