"""The dashboard model: every layout Grafana loads, datasources of every form, skip reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackctl.dashboards import Datasource, load_dashboard
from stackctl.dashboards.model import STACK_TYPES
from stackctl.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dashboards"


def test_legacy_rows_layout_is_read_with_row_repeats_and_no_saved_copies() -> None:
    d = load_dashboard(FIXTURES / "legacy-rows.json")
    assert d.schema_version == 14
    assert [(p.title, p.row, p.row_repeat) for p in d.panels] == [
        ("CPU busy", "CPU", None), ("Load", "CPU", None), ("Disk IO", "Disk $instance", "instance")]
    assert [p.width for p in d.panels] == [12, 12, 24]  # span (12 columns) -> gridPos width
    # ${DS_PROMETHEUS} is resolved through __inputs; no datasource at all is the default (Prometheus)
    assert all(t.kind == "prometheus" for _, t in d.targets())
    assert d.panels[0].datasource.input == "DS_PROMETHEUS" and d.panels[2].datasource.default


def test_top_level_rows_collapsed_rows_and_repeated_panels() -> None:
    d = load_dashboard(FIXTURES / "rows-collapsed-repeat.json")
    got = [(p.title, p.row, p.repeat, p.row_repeat) for p in d.panels]
    assert got == [("Up", "Overview", None, None), ("Latency $instance", "Overview", "instance", None),
                   ("GC", "Internals", None, "job")]
    assert d.panels[1].repeats_over == ("instance",) and d.panels[2].repeats_over == ("job",)


def test_library_panels_come_from_elements_or_say_why_not() -> None:
    d = load_dashboard(FIXTURES / "library-export.json")
    found, missing = d.panels
    assert found.title == "Requests per second" and found.library_panel == "lib-rps"
    assert [t.expr for t in found.targets] == ["sum(rate(app_requests_total[$__rate_interval]))"]
    assert found.targets[0].kind == "prometheus" and found.skip_reason() is None
    assert missing.skip_reason() is not None and "Shared latency" in missing.skip_reason()  # type: ignore[operator]


def test_other_datasources_are_skipped_never_refused() -> None:
    d = load_dashboard(FIXTURES / "postgres-mixed.json")
    reasons = {p.title: p.skip_reason() for p in d.panels}
    assert reasons["Orders (SQL)"] is not None and reasons["Orders (SQL)"].startswith("grafana-postgresql-datasource datasource")
    assert reasons["Request rate"] is None and reasons["Mixed"] is None
    assert reasons["About"] == "no queries (text panel)"
    assert reasons["Copy of request rate"] == "shows panel 2's results (-- Dashboard -- datasource)"
    mixed = next(p for p in d.panels if p.title == "Mixed")
    assert [t.kind for t in mixed.targets] == ["grafana-postgresql-datasource", "prometheus"]
    assert mixed.targets[1].datasource.variable == "ds"  # the datasource variable, typed prometheus


def test_hidden_targets_constant_inputs_and_annotations() -> None:
    d = load_dashboard(FIXTURES / "postgres-mixed.json")
    rate = next(p for p in d.panels if p.title == "Request rate")
    assert [(t.ref_id, t.hidden) for t in rate.targets] == [("A", False), ("B", True)]
    assert rate.targets[0].expr == 'sum(rate(app_requests_total{job="shop"}[5m]))'  # ${VAR_JOB}
    builtin, deploys = d.annotations
    assert builtin.builtin and not deploys.builtin and deploys.datasource.type == "prometheus"


@pytest.mark.parametrize(("ref", "expected"), [
    (None, Datasource("prometheus", "prometheus", default=True)),
    ({"type": "loki", "uid": "loki"}, Datasource("loki", "loki")),
    ({"uid": "prometheus"}, Datasource("prometheus", "prometheus")),
    ({"uid": "P1809F7CD0C75ACF3"}, Datasource("prometheus", "P1809F7CD0C75ACF3", guessed=True)),  # an unknown uid: the query decides
    ("Prometheus", Datasource("prometheus", "prometheus", name="Prometheus")),  # the stack's own name
    ("thanos-eu", Datasource("prometheus", name="thanos-eu", guessed=True)),
    ("-- Mixed --", Datasource("mixed", "-- Mixed --", name="-- Mixed --")),
    ({"type": "datasource", "uid": "grafana"}, Datasource("grafana", "grafana")),
    ({"type": "testdata", "uid": "td"}, Datasource("testdata", "td")),
    ("default", Datasource("prometheus", "prometheus", default=True)),
])
def test_datasource_forms(ref: object, expected: Datasource) -> None:
    d = load_dashboard({"panels": [{"type": "timeseries", "title": "p", "datasource": ref, "targets": [{"refId": "A", "expr": "up"}]}]})
    assert d.panels[0].datasource == expected


def test_unknown_input_keeps_its_type_from_a_rendered_copy() -> None:
    # resolve_inputs (provisioning) keeps the inputs it cannot map: their type stays known
    d = load_dashboard({"__inputs": [{"name": "DS_ES", "type": "datasource", "pluginId": "elasticsearch"}],
                        "panels": [{"type": "logs", "title": "es", "datasource": "${DS_ES}", "targets": [{"refId": "A", "query": "*"}]}]})
    assert d.panels[0].datasource.type == "elasticsearch" and d.panels[0].skip_reason(STACK_TYPES) is not None


def test_dashboard_key_identifies_copies(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "rows-collapsed-repeat.json").read_text())
    (tmp_path / "copy.json").write_text(json.dumps(data))
    assert load_dashboard(tmp_path / "copy.json").key == load_dashboard(FIXTURES / "rows-collapsed-repeat.json").key == "uid:svc-rows"


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "panels": [\n    oops\n]}')
    with pytest.raises(ConfigError, match=r"bad.json:3:5"):
        load_dashboard(bad)


def test_grafana_12_schema_v2() -> None:
    d = load_dashboard(FIXTURES / "schema-v2.json")
    assert (d.title, d.uid, d.time_from) == ("Node (schema v2)", "node-v2", "now-3h")
    got = [(p.title, p.type, p.row, p.repeat, p.width) for p in d.panels]
    assert got == [("Load", "timeseries", "Overview", None, 24), ("CPU $instance", "stat", "Per host", "instance", 12),
                   ("Shared", "", "Per host", None, 12)]
    load = d.panels[0]
    assert [(t.ref_id, t.hidden, t.kind, t.expr) for t in load.targets] == [
        ("A", False, "prometheus", 'node_load1{instance=~"$instance"}'), ("B", True, "prometheus", "up")]
    assert load.interval == "1m" and d.panels[2].skip_reason() is not None  # library panel: not in the file
    instance, env = d.variables
    assert (instance.type, instance.query, instance.sort, instance.refresh, instance.include_all) == (
        "query", "label_values(node_uname_info, instance)", 1, 2, True)
    assert (env.type, env.current) == ("custom", ("dev",))
    builtin, reboots = d.annotations
    assert builtin.builtin and reboots.expr == "changes(node_boot_time_seconds[5m]) > 0" and reboots.datasource.type == "prometheus"
