"""Failure classes an evaluation on popular grafana.com / exporter-repo dashboards found, each on
a fixture in the public file's shape (tests/fixtures/synth/classes/h31-<class>/); the end-to-end
half is tests/integration/test_synth_public_h31.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stackctl.assets import asset_path
from stackctl.dashboards import load_dashboard
from stackctl.dashboards.datasources import Datasources
from stackctl.dashboards.files import prepare_user_dashboard
from stackctl.dashboards.refs import adoptable_type
from stackctl.dashboards.validate import check_file
from stackctl.seeding.synth.pipeline import generate, scenario_of

CLASSES = Path(__file__).resolve().parents[1] / "fixtures" / "synth" / "classes"
NOW = 1_800_000_000.0


def _provisioned() -> Datasources:
    doc = yaml.safe_load(asset_path("grafana", "provisioning", "datasources", "datasources.yml").read_text())
    return Datasources.from_provisioning([doc])


def test_legacy_default_datasource_name_is_the_default_datasource() -> None:
    """kafka_exporter's grafana.com dashboard saves `"datasource": "default"`: Grafana's
    datasource service reads that name as the default datasource (was: "not provisioned")."""
    path = CLASSES / "h31-default-datasource" / "kafka-exporter-overview.json"
    assert [str(p) for p in check_file(path, _provisioned()) if p.severity == "error"] == []
    panel = load_dashboard(path).panels[0]
    assert panel.datasource.default and panel.datasource.type == "prometheus"
    assert panel.datasource.not_found is None


def test_another_grafanas_datasource_name_over_promql_is_adopted() -> None:
    """postgres_exporter's mixin names a datasource "Postgres Overview" (its author's Grafana's
    name for a Prometheus): the stack provisions the panels against its own Prometheus, as it
    does for another Grafana's uid, and says so; the model and verify agree."""
    path = CLASSES / "h31-unknown-datasource" / "postgres-overview.json"
    dash = load_dashboard(path)
    assert {t.datasource.not_found for _, t in dash.targets()} == {None}
    assert {t.datasource.type for _, t in dash.targets()} == {"prometheus"}
    problems = check_file(path, _provisioned())
    assert not [p for p in problems if p.severity == "error"], problems
    assert any("'Postgres Overview' is another Grafana's; stackctl provisions it as the stack's prometheus" in str(p)
               for p in problems), problems
    provisioned = json.loads(prepare_user_dashboard(path))
    refs = {json.dumps(p.get("datasource"), sort_keys=True) for p in provisioned["panels"] if "targets" in p}
    assert refs == {json.dumps({"type": "prometheus", "uid": "prometheus"}, sort_keys=True)}, refs
    named = load_dashboard(CLASSES / "h31-never-refreshed" / "kafka-overview.json")  # "Prometheus": the stack's own
    assert {t.datasource.not_found for _, t in named.targets()} == {None}


@pytest.mark.parametrize(("ref", "node", "adopted"), [
    ("prometheus-k8s", {"targets": [{"expr": "up"}]}, "prometheus"),
    ({"uid": "P1809F7CD0C75ACF3"}, {"expr": "sum(rate(x[5m]))"}, "prometheus"),
    ("Logs (prod)", {"targets": [{"expr": '{app="api"} |= "error"'}]}, "loki"),
    ("thanos-eu", {}, "prometheus"),  # typed by its name alone
    ("Postgres", {"targets": [{"rawSql": "SELECT 1"}]}, None),  # a SQL datasource stays not found
    ("My DS", {}, None),  # nothing says what it is
    ("$datasource", {"targets": [{"expr": "up"}]}, None),  # a variable resolves elsewhere
    ("${DS_PROMETHEUS}", {"targets": [{"expr": "up"}]}, None),  # an export input too
    ("-- Grafana --", {"targets": [{"expr": "up"}]}, None),
    ({"type": "prometheus", "uid": "abc"}, {"expr": "up"}, None),  # typed: adopted by uid, not here
])
def test_which_unprovisioned_references_are_adopted(ref: object, node: dict[str, object], adopted: str | None) -> None:
    assert adoptable_type(ref, node) == adopted


def test_never_refreshed_query_variable_seeds_its_saved_selection() -> None:
    """A query variable saved with refresh 0 ("Never") keeps its saved options: Grafana asks
    for `consumergroup=~"perf-consumer-74084"`, so that is the value synthesized."""
    sc = scenario_of(generate([CLASSES / "h31-never-refreshed"], now=NOW))
    lag = next(m for m in sc.metrics if m.name == "kafka_consumer_lag_millis")
    assert {s.labels.get("consumergroup") for s in lag.series} == {"perf-consumer-74084"}


def test_expiry_timestamp_alert_is_solved_by_an_expiry_in_the_past() -> None:
    """blackbox-exporter-mixin: `probe_ssl_earliest_cert_expiry - time() < 0` needs the expiry on
    the other side of now; scaling a 90-days-ahead expiry by positive factors never gets there."""
    g = generate([CLASSES / "h31-expired-timestamp"], "firing", alert="BlackboxSslCertificateExpired", now=NOW)
    assert [a.name for a in scenario_of(g).expected_alerts] == ["BlackboxSslCertificateExpired"]
    assert g.summary["alerts"]["BlackboxSslCertificateExpired"] == "ok"  # type: ignore[index]


def test_exporter_gauges_take_their_conventional_values() -> None:
    """blackbox_exporter: a `<what>_time_seconds` duration is no timestamp (was: 1.8e9 on the
    "Average Latency" stat), an HTTP status code is 200 (was: ~50); instants stay instants."""
    from stackctl.seeding.synth.values import profile

    assert profile("probe_dns_lookup_time_seconds", "gauge").from_now is False
    assert profile("probe_dns_lookup_time_seconds", "gauge").level < 1
    assert profile("probe_http_status_code", "gauge").level == 200
    assert profile("node_boot_time_seconds", "gauge").from_now and profile("node_time_seconds", "gauge").from_now


def test_report_header_shows_the_variables_the_panels_used() -> None:
    """The report's "variables:" line showed the saved selection: `instance=$__all`, or
    `(none)` for the `"current": {}` most grafana.com exports carry; now the resolved one."""
    from stackctl.dashboards import Resolver
    from stackctl.report import source
    from stackctl.verify.dashboards import ResolvedDashboard

    d = load_dashboard(CLASSES / "h31-literal-all" / "postgres-buffers.json")
    r = Resolver(d, None, NOW)
    view = source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations()), dict(r.variables)), NOW)
    assert view.variables == {"instance": "All"}


def test_a_conflict_names_only_the_alert_that_undoes_it() -> None:
    """Expired (`expiry - time() < 0`) and WillExpireSoon (`... > 0`) want one series both ways;
    the probe_success alerts touch other series and were named too."""
    g = generate([CLASSES / "h31-expired-timestamp"], "firing", now=NOW)
    note = str(g.summary["alerts"]["BlackboxSslCertificateExpired"])  # type: ignore[index]
    assert "but BlackboxSslCertificateWillExpireSoon set(s) the same series" in note, note


def test_report_row_titles_show_their_variables() -> None:
    """StarsL's "Service: $show_hostname" row, blackbox-exporter-mixin's row `$instance`
    repeated per instance: Grafana shows the values, the report showed `$...`."""
    from stackctl.dashboards import Resolver
    from stackctl.report import source
    from stackctl.verify.dashboards import ResolvedDashboard

    d = load_dashboard({"title": "t", "uid": "t", "panels": [
        {"type": "row", "title": "Probe $instance", "repeat": "instance", "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}},
        {"type": "stat", "title": "up", "gridPos": {"h": 4, "w": 6, "x": 0, "y": 1}, "targets": [{"expr": 'probe_success{instance=~"$instance"}'}]}],
        "templating": {"list": [{"name": "instance", "type": "custom", "query": "a:1,b:2", "multi": True,
                                 "current": {"text": ["a:1", "b:2"], "value": ["a:1", "b:2"]}}]}})
    r = Resolver(d, None, NOW)
    view = source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations()), dict(r.variables)), NOW)
    assert [s.title for s in view.sections] == ["Probe a:1", "Probe b:2"]


def test_a_down_state_gauge_fires_at_zero() -> None:
    """postgres_exporter's `pg_up != 1`: the firing solution is pg_up 0 (down), not 2."""
    g = generate([CLASSES / "h31-state-gauge"], "firing", alert="PostgreSQLDown", now=NOW)
    assert "value of pg_up x0" in g.text, g.text[-600:]


def test_an_export_placeholder_without_its_input_is_not_found() -> None:
    """`${DS_PROMETHEUS}` with the `__inputs` entry dropped (a hand-trimmed export): Grafana
    cannot resolve it; with the entry it is the stack's Prometheus."""
    panel = {"type": "graph", "title": "p", "datasource": "${DS_PROMETHEUS}", "targets": [{"expr": "up"}]}
    bare = load_dashboard({"title": "t", "panels": [panel]})
    assert [t.datasource.not_found for _, t in bare.targets()] == ["${DS_PROMETHEUS}"]
    inputs = [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}]
    full = load_dashboard({"title": "t", "__inputs": inputs, "panels": [panel]})
    assert [t.datasource.not_found for _, t in full.targets()] == [None]


def test_a_job_variable_resolves_to_the_job_the_rules_pin() -> None:
    """blackbox-exporter-mixin: `label_values(probe_success{}, job)` pins no job, its alerts read
    `probe_success{job="blackbox-exporter"}`: one set of series under that job (was: a second
    copy under the exporter's usual job "blackbox", every probe counted twice on the dashboard)."""
    sc = scenario_of(generate([CLASSES / "h31-pinned-job", CLASSES / "h31-expired-timestamp"], now=NOW))
    jobs = {s.labels.get("job") for m in sc.metrics for s in m.series}
    assert jobs == {"blackbox-exporter"}, jobs
