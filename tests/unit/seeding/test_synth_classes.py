"""Failure classes an evaluation on public dashboards and rule files found, each on a small
fixture in the public file's shape (tests/fixtures/synth/classes/<case>/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stackctl.errors import ScenarioError
from stackctl.seeding.checks import semantic_problems
from stackctl.seeding.scenario import Scenario, raise_problems
from stackctl.seeding.synth.pipeline import generate, scenario_of

CLASSES = Path(__file__).resolve().parents[2] / "fixtures" / "synth" / "classes"
NOW = 1_800_000_000.0


def test_duplicate_alert_names_across_files_and_severity_pairs_seed() -> None:
    g = generate([CLASSES / "dup-alerts"], "firing", now=NOW)
    sc = scenario_of(g)  # raised "alert 'RedisDown' listed twice" before
    keys = [(a.name, tuple(sorted(a.labels.items()))) for a in sc.expected_alerts]
    assert len(keys) == len(set(keys))
    assert ("NodeFilesystemAlmostOutOfSpace", (("severity", "warning"),)) in keys
    assert ("NodeFilesystemAlmostOutOfSpace", (("severity", "critical"),)) in keys
    assert [k for k in keys if k[0] == "RedisDown"] == [("RedisDown", ())]  # one rule key, merged
    assert next(a for a in sc.expected_alerts if a.name == "RedisDown").state == "pending"  # the weaker state


def test_checker_reports_every_duplicate_at_once() -> None:
    names = [f"A{i}" for i in range(12)]
    doc = {"name": "dups", "description": "d", "sources": ["x"], "metrics": [],
           "expected_alerts": [{"name": n} for n in names + names]}
    sc = Scenario.model_validate(doc)
    with pytest.raises(ScenarioError) as exc:
        raise_problems(semantic_problems(sc), "dups.yaml", lambda _p: None)
    assert all(f"alert {n!r} listed twice" in str(exc.value) for n in names)
    pair = Scenario.model_validate({**doc, "expected_alerts": [{"name": "A", "labels": {"severity": s}}
                                                               for s in ("warning", "critical")]})
    assert semantic_problems(pair) == []


def test_verify_tells_rules_of_one_name_apart_by_labels() -> None:
    from stackctl.verify.checks import expected_alert_results
    sc = Scenario.model_validate({"name": "p", "description": "d", "sources": ["x"], "expected_alerts": [
        {"name": "A", "labels": {"severity": "warning"}}, {"name": "A", "labels": {"severity": "critical"}}]})
    alerts = [{"labels": {"alertname": "A", "severity": "warning"}, "state": "pending"}]
    results = expected_alert_results(sc, alerts)
    assert [r.status for r in results] == ["ok", "error"]


def test_no_series_left_out_unless_an_absent_condition_asks_and_trends_read_no_noise() -> None:
    quiet = generate([CLASSES / "no-absent"], now=NOW)
    firing = generate([CLASSES / "no-absent"], "firing", now=NOW)
    for g in (quiet, firing):
        # no absent() anywhere: what a panel or another alert reads stays; only a metric one
        # quiet rule alone reads may be left out (2^max(shards) - 1 - sum(2^ordinal) != 0)
        assert [x for x in g.text.splitlines() if "left out" in x] in (
            [], ["  # kube_state_metrics_shard_ordinal: left out: the solution of an absent() alert needs it missing "
                 "(or of an alert that is the only reader of this metric)"])
        names = {m.name for m in scenario_of(g).metrics}
        assert {"redis_connected_slaves", "kube_state_metrics_total_shards"} <= names
    assert "RedisClusterFlapping (quiet)" not in quiet.text  # changes() of a constant gauge: 0
    assert "constant: read by changes()/deriv()/delta()" in quiet.text
    assert "AlertmanagerConfigInconsistent (quiet)" not in quiet.text
    expected = {a.name for a in scenario_of(firing).expected_alerts}
    assert {"KubeStateMetricsShardingMismatch", "AlertmanagerConfigInconsistent"} <= expected  # series at different levels
    assert "KubeStateMetricsShardsMissing" in expected  # its healthy phase does not leave its input out


def _values(g: object, metric: str, label: str) -> set[str]:
    return {s.labels.get(label, "") for s in g.plan.model.metrics[metric].series}  # type: ignore[attr-defined]


def test_label_values_line_up_across_files() -> None:
    g = generate([CLASSES / "cross-files"], now=NOW)
    # $job reads node_uname_info; the rules pin node_cpu_seconds_total to job="node-exporter":
    # the panels' $job value exists on the metric they filter anyway.
    assert _values(g, "node_uname_info", "job") <= _values(g, "node_cpu_seconds_total", "job")
    assert "node-exporter" in _values(g, "node_cpu_seconds_total", "job")  # the rules' series stay
    # $namespace lists every value the source metric has (kube rules pin namespace="monitoring").
    src = "django_http_responses_total_by_status_view_method_total"
    assert _values(g, src, "namespace") <= _values(g, "django_http_requests_total_by_view_transport_method_total", "namespace")
    for metric in ("node_uname_info", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes"):
        assert _values(g, "node_uname_info", "instance") <= _values(g, metric, "instance")


def test_recorded_series_the_rules_cannot_produce_for_a_panel_are_seeded_directly() -> None:
    g = generate([CLASSES / "recorded"], now=NOW)
    model = g.plan.model
    # The panel asks job="node"; the rule reads job="node-exporter": seeded with the panel's labels.
    assert _values(g, "instance:node_cpu_utilisation:rate5m", "job") == {"node"}
    assert "seeded directly" in g.text
    # A recorded series the rule produces with the labels the panel asks stays the rule's.
    assert "instance:node_num_cpu:sum" in model.recorded and "instance:node_num_cpu:sum" not in model.metrics


def test_two_alerts_wanting_one_series_the_other_way_say_so() -> None:
    g = generate([CLASSES / "opposite"], "firing", now=NOW)
    promised = {a.name for a in scenario_of(g).expected_alerts}
    if promised != {"RedisTooManyConnections", "RedisNotEnoughConnections"}:  # a level both hold at (4.8 of 5)
        assert "RedisTooManyConnections set(s) the same series the other way" in g.text
        assert "--alert RedisNotEnoughConnections" in g.text
    alone = generate([CLASSES / "opposite"], "firing", "RedisNotEnoughConnections", now=NOW)
    assert [a.name for a in scenario_of(alone).expected_alerts] == ["RedisNotEnoughConnections"]


def test_a_dashboard_without_prometheus_queries_has_nothing_to_synthesize(tmp_path: Path) -> None:
    text_only = json.loads((CLASSES / "no-queries" / "aaa-text-only.json").read_text())
    text_only["panels"] = [p for p in text_only["panels"] if p["type"] == "text"]
    (tmp_path / "text-only.json").write_text(json.dumps(text_only))
    with pytest.raises(ScenarioError, match="nothing to synthesize"):
        generate([tmp_path / "text-only.json"], now=NOW)
    logs_only = scenario_of(generate([CLASSES / "no-queries"], now=NOW))  # its Loki panel: a log stream, no metric
    assert not logs_only.metrics and [s.labels for s in logs_only.logs] == [{"app": "api"}]
    g = generate([CLASSES / "no-queries", CLASSES / "opposite"], now=NOW)
    assert g.plan.name == "synth-redis-connections"  # named after a file that has something


def test_a_prometheus_rule_resource_is_loaded_and_checked_by_its_spec(tmp_path: Path) -> None:
    import shutil

    from stackctl.byo.rules_check import check_rule_files
    from stackctl.config import load_config
    from stackctl.render.configs import render

    crd = CLASSES / "crd" / "alertmanager-prometheusRule.yaml"
    (tmp_path / "stackctl.yaml").write_text(f"packs: []\nrules: [{crd}]\n")
    cfg = load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)
    render(cfg, "docker", check=False)
    doc = yaml.safe_load((cfg.state_dir / "rendered/prometheus/rules/user-alertmanager-prometheusRule.yml").read_text())
    assert list(doc) == ["groups"] and doc["groups"][0]["rules"][0]["alert"] == "AlertmanagerFailedReload"
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    assert check_rule_files([crd]) is None  # promtool alone rejects the resource (field apiVersion not found)
    g = generate([crd], "firing", now=NOW)
    assert [a.name for a in scenario_of(g).expected_alerts] == ["AlertmanagerFailedReload"]


def test_synthetic_instances_sort_before_the_stacks_own_targets() -> None:
    g = generate([CLASSES / "real-targets"], now=NOW)
    values = _values(g, "alertmanager_build_info", "instance")
    real = ["127.0.0.1:9093", "alertmanager:9093", "localhost:9093"]  # native, compose, a user's
    assert values and all(v < r for v in values for r in real)
    assert values <= _values(g, "alertmanager_cluster_members", "instance")


def test_label_values_variable_adds_its_label_to_its_metric() -> None:
    g = generate([CLASSES / "label-values"], now=NOW)  # class 4 (fixed in a086716): a regression test
    assert all("pod" in s.labels for s in g.plan.model.metrics["redis_up"].series)


def test_down_volumes_then_up_after_seed_from(tmp_path: Path) -> None:
    from stackctl.state.dirs import claim_state_dir, remove_state_dir
    state = claim_state_dir(tmp_path / "state")
    (state / "synth").mkdir()
    (state / "synth" / "synth-x.yaml").write_text("name: synth-x\n")
    remove_state_dir(state)  # `down --volumes` left synth/ behind, and the next `up` refused the folder
    assert not (state / "synth").exists()
    (state / "synth").mkdir(parents=True)  # a state dir from before the marker, holding synth/
    assert claim_state_dir(state) == state
