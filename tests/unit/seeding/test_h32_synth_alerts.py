"""Alert-solving classes an evaluation on rendered monitoring mixins found (kubernetes-mixin,
prometheus-mixin, kube-prometheus PrometheusRules), on fixtures in their shapes
(tests/fixtures/synth/classes/h32-*/)."""

from __future__ import annotations

from pathlib import Path

from stackctl.seeding.synth import exprs as E
from stackctl.seeding.synth.evaluate import as_vec, evaluate
from stackctl.seeding.synth.functions import make_env
from stackctl.seeding.synth.model import SynthModel
from stackctl.seeding.synth.pipeline import generate, scenario_of
from stackctl.verify.checks import recorded_names

CLASSES = Path(__file__).resolve().parents[2] / "fixtures" / "synth" / "classes"
NOW = 1_800_000_000.0


def _outcomes(path: Path, state: str = "quiet", alert: str | None = None) -> dict[str, tuple[bool, str]]:
    g = generate([path], state, alert, now=NOW)  # type: ignore[arg-type]
    return {f"{o.rule.name}/{o.state}": (o.solved, o.note) for o in g.plan.outcomes}


def test_quiet_keeps_every_input_of_the_rules_seeded() -> None:
    """Was: `a != b`, count(distinct versions) > 1 and a group_right difference were made quiet
    by leaving their input out ("no series of ..."); verify then failed the seeded data."""
    g = generate([CLASSES / "h32-quiet-inputs"], "quiet", now=NOW)
    assert all(o.solved for o in g.plan.outcomes), [(o.rule.name, o.note) for o in g.plan.outcomes]
    assert not any("no series of" in o.note for o in g.plan.outcomes)
    names = {m.name for m in scenario_of(g).metrics}
    assert {"kube_deployment_status_observed_generation", "kubernetes_build_info",
            "prometheus_remote_storage_highest_timestamp_in_seconds"} <= names
    assert "left out" not in g.text


def test_vectors_compared_for_equality_are_constant() -> None:
    """Noise on two gauges compared with != makes them differ at every sample: both constant."""
    g = generate([CLASSES / "h32-quiet-inputs"], "quiet", now=NOW)
    m = g.plan.model.metrics
    assert m["kube_deployment_status_observed_generation"].profile.spread == 0
    assert m["kube_deployment_metadata_generation"].profile.spread == 0


def test_firing_solves_each_alert_of_the_quiet_inputs() -> None:
    for alert in ("KubeDeploymentGenerationMismatch", "KubeVersionMismatch", "PrometheusRemoteWriteBehind"):
        out = _outcomes(CLASSES / "h32-quiet-inputs", "firing", alert)
        assert out[f"{alert}/firing"][0], out[f"{alert}/firing"]


def test_group_right_arithmetic_keeps_the_written_order() -> None:
    """`a - ignoring(x) group_right b` is a - b (it was evaluated as b - a), and its "one" side
    is a value, not an info metric of value 1."""
    g = generate([CLASSES / "h32-quiet-inputs"], "quiet", now=NOW)
    model: SynthModel = g.plan.model
    assert model.metrics["prometheus_remote_storage_highest_timestamp_in_seconds"].kind == "gauge"
    env = make_env(model, {}, {}, NOW)
    node = E.parse('max_over_time(prometheus_remote_storage_highest_timestamp_in_seconds[5m]) - ignoring(url) '
                   'group_right prometheus_remote_storage_queue_highest_sent_timestamp_seconds * 0 + 1')
    vec = as_vec(evaluate(node, env))
    assert vec and all(v > 1e9 for _lab, v in vec)  # a timestamp minus 1, not 1 minus a timestamp


def test_recorded_series_read_with_matchers_reach_the_rules_inputs() -> None:
    """GrafanaRequestsFailing reads record{status_code=~"5.."}: the input needs 5xx series and
    the knob scales those (scaling every input series keeps the ratio)."""
    g = generate([CLASSES / "h32-record-matchers"], "firing", "GrafanaRequestsFailing", now=NOW)
    o = next(o for o in g.plan.outcomes if o.state == "firing")
    assert o.solved, o.note
    assert "through a recording rule" in o.note
    codes = {s.labels.get("status_code") for s in g.plan.model.metrics["grafana_http_request_duration_seconds_count"].series}
    assert any(c and c.startswith("5") for c in codes), codes
    sc = scenario_of(g)
    assert [a.name for a in sc.expected_alerts] == ["GrafanaRequestsFailing"]


def test_alerts_series_are_never_synthesized() -> None:
    g = generate([CLASSES / "h32-alerts-series"], "firing", "InfoInhibitor", now=NOW)
    assert "ALERTS" not in g.plan.model.metrics
    o = next(o for o in g.plan.outcomes if o.rule.name == "InfoInhibitor")
    assert not o.solved and "Prometheus writes for the alerts that are active" in o.note
    quiet = generate([CLASSES / "h32-alerts-series"], "quiet", now=NOW)
    assert "ALERTS" not in quiet.plan.model.metrics and "container_cpu_cfs_periods_total" in quiet.plan.model.metrics


def test_verify_knows_the_rule_managers_series() -> None:
    alerting = [{"rules": [{"type": "alerting", "name": "A"}, {"type": "recording", "name": "r:x"}]}]
    assert {"ALERTS", "ALERTS_FOR_STATE", "r:x"} <= recorded_names(alerting)
    assert "ALERTS" not in recorded_names([{"rules": [{"type": "recording", "name": "r:x"}]}])


def test_conflict_names_only_the_alerts_it_really_undoes(tmp_path: Path) -> None:
    """KubeHpaMaxedOut (current == max) and KubeHpaReplicasMismatch (current < max) want one
    series two ways; an unrelated alert firing beside them is no rival (it was listed as one)."""
    (tmp_path / "hpa.yaml").write_text("""groups:
- name: kubernetes-apps
  rules:
  - alert: KubeHpaReplicasMismatch
    expr: |-
      (kube_horizontalpodautoscaler_status_desired_replicas{job="kube-state-metrics"} != kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics"}) and (kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics"} > kube_horizontalpodautoscaler_spec_min_replicas{job="kube-state-metrics"}) and (kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics"} < kube_horizontalpodautoscaler_spec_max_replicas{job="kube-state-metrics"}) and changes(kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics"}[15m]) == 0
    for: 15m
  - alert: KubeHpaMaxedOut
    expr: |-
      kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics"} == kube_horizontalpodautoscaler_spec_max_replicas{job="kube-state-metrics"}
    for: 15m
  - alert: KubeJobFailed
    expr: |-
      kube_job_failed{job="kube-state-metrics"} > 0
    for: 15m
""")
    out = _outcomes(tmp_path / "hpa.yaml", "firing")
    assert out["KubeJobFailed/firing"][0]
    unsolved = [note for ok, note in out.values() if not ok]
    assert unsolved, out  # one of the pair cannot fire together with the other
    assert all("KubeJobFailed" not in note for note in unsolved), unsolved


def test_sides_that_never_match_are_named() -> None:
    out = _outcomes(CLASSES / "h32-never-matches", "firing", "KubeStatefulSetUpdateNotRolledOut")
    ok, note = out["KubeStatefulSetUpdateNotRolledOut/firing"]
    assert not ok and "never match one to one" in note and "instance" in note, note


def test_a_narrow_band_is_hit_with_steady_inputs() -> None:
    g = generate([CLASSES / "h32-band"], "firing", "KubeQuotaAlmostFull", now=NOW)
    o = next(o for o in g.plan.outcomes if o.rule.name == "KubeQuotaAlmostFull" and o.state == "firing")
    assert o.solved, o.note
    assert g.plan.model.metrics["kube_resourcequota"].profile.spread == 0  # noise would leave the band


def test_exclusive_neighbours_name_each_other_when_all_fire() -> None:
    out = _outcomes(CLASSES / "h32-band", "firing")
    unsolved = {k: note for k, (ok, note) in out.items() if not ok}
    assert len(unsolved) <= 2, out  # three bands of one ratio: one fires, the others say why
    assert all("set(s) the same series the other way" in note for note in unsolved.values()), unsolved


def test_regex_values_leave_optional_parts_out() -> None:
    """etcd-mixin's job=~".*etcd.*" gives job="etcd" (was "xetcdx"); `.*` alone is still a value."""
    from stackctl.seeding.synth.labels import example

    assert example(".*etcd.*") == "etcd"
    assert example(".*") == "x" and example(".+") == "x"
    assert example("nvme[0-9]+n[0-9]+") == "nvme0n0"


def test_alerts_quiet_as_inferred_are_kept_by_the_others_solutions() -> None:
    out = _outcomes(CLASSES / "h32-quiet-order")
    assert all(ok for ok, _n in out.values()), out
    assert "one series of up" in out["ThanosCompactMultipleRunning/quiet"][1]
    g = generate([CLASSES / "h32-quiet-order"], "quiet", now=NOW)
    assert [o.rule.name for o in g.plan.outcomes] == ["ThanosCompactMultipleRunning", "ThanosRuleRuleEvaluationLatencyHigh",
                                                      "ThanosCompactIsDown"]  # the files' order
    assert "timestamp" not in g.plan.model.metrics["prometheus_rule_group_last_duration_seconds"].profile.why
    for alert in ("ThanosCompactMultipleRunning", "ThanosRuleRuleEvaluationLatencyHigh", "ThanosCompactIsDown"):
        assert _outcomes(CLASSES / "h32-quiet-order", "firing", alert)[f"{alert}/firing"][0], alert


def test_a_quantile_threshold_above_the_buckets_gets_a_bucket() -> None:
    g = generate([CLASSES / "h32-quantile-above"], "firing", "ThanosQueryInstantLatencyHigh", now=NOW)
    assert max(g.plan.model.metrics["http_request_duration_seconds"].buckets) >= 80
    o = next(o for o in g.plan.outcomes if o.state == "firing")
    assert o.solved, o.note
    quiet = generate([CLASSES / "h32-quantile-above"], "quiet", now=NOW)
    assert all(o.solved for o in quiet.plan.outcomes)


def test_quiet_time_conditions_survive_the_timestamps_aging() -> None:
    out = _outcomes(CLASSES / "h32-timestamps")
    ok, note = out["ThanosRuleNoEvaluationFor10Intervals/quiet"]
    assert ok and "x0" not in note.split()[-1], note  # not the timestamp moved to the seeding instant
    ok, note = out["ThanosSidecarUnhealthy/quiet"]
    assert not ok and "a seeded timestamp is a constant" in note, note
