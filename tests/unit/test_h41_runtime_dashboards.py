"""Failure classes an evaluation on application-runtime, proxy and datastore dashboards found
(Traefik's official dashboard, nginx-prometheus-exporter, the Celery mixin, Spring Boot), each on
a fixture in the public file's shape (tests/fixtures/synth/classes/h41-<class>/)."""

from __future__ import annotations

from pathlib import Path

from stackctl.dashboards.variables import apply_regex
from stackctl.seeding.synth.labels import example
from stackctl.seeding.synth.pipeline import generate, scenario_of

CLASSES = Path(__file__).resolve().parents[1] / "fixtures" / "synth" / "classes"
NOW = 1_800_000_000.0


def _values(sc: object, metric: str, label: str) -> list[str]:
    for m in sc.metrics:  # type: ignore[attr-defined]
        if m.name == metric:
            return [s.labels[label] for s in m.series if label in s.labels]
    raise AssertionError(f"{metric} not synthesized")


def test_variable_regex_keeps_synthesized_values() -> None:
    """Traefik's `service` variable lists label_values(traefik_service_open_connections, service)
    through the regex /([^-]+-[^-]+).*/: the synthesized values (api, worker) matched none, so
    the variable had no options and its panels read `service=~"().*"`."""
    sc = scenario_of(generate([CLASSES / "h41-variable-regex"], now=NOW))
    values = _values(sc, "traefik_service_open_connections", "service")
    assert apply_regex(values, "/([^-]+-[^-]+).*/"), values
    # the panels' own metric has the values the variable resolves to
    assert any(apply_regex([v], "/([^-]+-[^-]+).*/") for v in _values(sc, "traefik_service_requests_total", "service"))


def test_example_handles_negated_single_characters() -> None:
    assert example("([^-]+-[^-]+).*") is not None


def test_legend_labels_are_synthesized() -> None:
    """The elasticsearch mixin's panels name labels only in their legends (`{{name}} {{gc}}`,
    `{{name}} {{area}}`): every series had the same empty legend. The exporter has those labels."""
    sc = scenario_of(generate([CLASSES / "h41-legend-labels"], now=NOW))
    assert _values(sc, "elasticsearch_jvm_gc_collection_seconds_sum", "gc")
    assert _values(sc, "elasticsearch_jvm_gc_collection_seconds_sum", "name")
    assert _values(sc, "elasticsearch_jvm_memory_used_bytes", "area")
    assert _values(sc, "elasticsearch_thread_pool_rejected_count", "type")
    # one value each: a legend adds no series (a join on() over the metric stays one-to-one)
    assert len(_values(sc, "elasticsearch_jvm_memory_used_bytes", "area")) == 2  # its two instances


def test_a_table_of_several_table_queries_is_one_frame_or_merged() -> None:
    """The Celery mixin's "Task Stats": instant `format: table` queries A, B, C, one frame each.
    The report drew one row per series of every query (three rows `name-1 | Value`); Grafana
    shows one frame (a frame selector), or, with a merge transformation, one row per label set
    with a `Value #A`.. column per query."""
    from stackctl.dashboards import Resolver, load_dashboard
    from stackctl.report import source
    from stackctl.report.bodies import frames_note, table_rows
    from stackctl.report.collect import PanelData, prometheus_series
    from stackctl.verify.checks import CheckResult
    from stackctl.verify.dashboards import ResolvedDashboard

    d = load_dashboard(CLASSES / "h41-table-frames" / "celery-task-stats.json")
    r = Resolver(d, None, NOW)
    view = source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations())), NOW)
    plain, merged = (next(p for p in view.panels if p.title == t) for t in ("Task Stats", "Task Stats (merged)"))

    def data(panel: object) -> PanelData:
        series = [s for ref, value in (("A", "0.9"), ("B", "90"), ("C", "10"))
                  for s in prometheus_series("q", ref, "", ({"metric": {"name": "add"}, "value": [NOW, value]},))]
        return PanelData(panel, CheckResult("panel", "Celery", "Task Stats", "q", "populated", "3 series"),  # type: ignore[arg-type]
                         15, (NOW - 3600, NOW), series=series)

    head, rows = table_rows(data(plain))
    assert (head, len(rows)) == (["name", "Value"], 1), (head, rows)
    assert "1 of 3 frames" in (frames_note(data(plain)) or "")
    head, rows = table_rows(data(merged))
    assert head == ["name", "Value #A", "Value #B", "Value #C"] and len(rows) == 1 and rows[0][0] == "add", (head, rows)
    assert frames_note(data(merged)) is None


def _jobs(sc: object, metric: str) -> set[str]:
    return set(_values(sc, metric, "job"))


def test_one_apps_job_does_not_leak_into_another_apps_series() -> None:
    """The Celery mixin pins job=~"celery|celery-exporter"; Spring Boot rules read
    jvm_memory_used_bytes and orders_failed_total without a job: those got job="celery"."""
    sc = scenario_of(generate([CLASSES / "h41-foreign-job"], now=NOW))
    assert _jobs(sc, "celery_task_succeeded_total") <= {"celery", "celery-exporter"}
    assert "celery" not in _jobs(sc, "jvm_memory_used_bytes") | _jobs(sc, "orders_failed_total")
    assert _jobs(sc, "up") == {"spring-boot-apps"}  # the one its rule names


def test_a_single_apps_job_still_names_its_other_series() -> None:
    sc = scenario_of(generate([CLASSES / "h41-foreign-job" / "spring-boot-alerts.yml"], now=NOW))
    assert _jobs(sc, "jvm_memory_used_bytes") == {"spring-boot-apps"}


def test_an_api_export_is_said_not_loaded_rather_than_empty() -> None:
    """A blog's `{"dashboard": {...}}` (an API export): verify's error names the shape; the
    panel line said "the dashboard has no panels" of a file with seven."""
    from stackctl.dashboards import load_dashboard
    from stackctl.verify.dashboards import ResolvedDashboard, check_resolved

    d = load_dashboard(CLASSES / "h41-api-export" / "spring-boot-overview-wrapped.json")
    [result] = check_resolved([ResolvedDashboard(d, (), ())], None, None)  # type: ignore[arg-type]
    assert result.status == "skipped" and "API export" in result.detail
    # and seed --from reads its panels all the same
    sc = scenario_of(generate([CLASSES / "h41-api-export"], now=NOW))
    assert {"jvm_memory_used_bytes", "hikaricp_connections_active", "jvm_info"} <= {m.name for m in sc.metrics}


def test_a_quiet_scenario_never_seeds_alerts_series() -> None:
    """A dashboard alone whose stats count ALERTS{alertstate="firing"}: the quiet scenario
    synthesized ALERTS as a gauge, so the dashboard showed 4 firing alerts nobody raised."""
    quiet = scenario_of(generate([CLASSES / "h41-alerts-panels"], now=NOW))
    assert "ALERTS" not in {m.name for m in quiet.metrics}
    assert "haproxy_backend_http_responses_total" in {m.name for m in quiet.metrics}


def test_singlestat_value_maps_become_mappings() -> None:
    """nginx-prometheus-exporter's "NGINX Status" singlestat maps 1 -> Up, 0 -> Down
    (`valueMaps`, mappingType 1): the report showed "1"; Grafana's migration to stat keeps them."""
    from stackctl.report.legacy import mappings_of
    from stackctl.report.mappings import mapped

    raw = {"type": "singlestat", "mappingType": 1, "rangeMaps": [{"from": "null", "text": "N/A", "to": "null"}],
           "valueMaps": [{"op": "=", "text": "Down", "value": "0"}, {"op": "=", "text": "Up", "value": "1"}]}
    maps = mappings_of(raw)
    assert [(m.text if m else None) for m in (mapped(maps, v, s) for v, s in ((1.0, "1"), (0.0, "0"), (5.0, "5")))] == ["Up", "Down", None]
    ranges = mappings_of({"type": "singlestat", "rangeMaps": [{"from": "null", "text": "0", "to": "null"}, {"from": "1", "to": "9", "text": "few"}]})
    hit_null, hit_few = mapped(ranges, None, ""), mapped(ranges, 3.0, "3")
    assert hit_null is not None and hit_null.text == "0" and hit_few is not None and hit_few.text == "few"
    assert mappings_of({"type": "stat", "valueMaps": raw["valueMaps"]}) == []


def test_singlestat_colouring_and_sparkline_migrate_as_grafanas() -> None:
    """nginx's "NGINX Status": `colorBackground: true`, `sparkline.show: false` -> a stat with a
    coloured background and no sparkline (the report drew coloured text over a sparkline)."""
    from stackctl.report.source import display_of

    raw = {"type": "singlestat", "colorBackground": True, "colorValue": False, "sparkline": {"show": False}, "options": {}}
    assert {k: display_of(raw).options[k] for k in ("colorMode", "graphMode")} == {"colorMode": "background", "graphMode": "none"}
    plain = display_of({"type": "singlestat", "sparkline": {"show": True}})
    assert (plain.options["colorMode"], plain.options["graphMode"]) == ("none", "area")
    assert "colorMode" not in display_of({"type": "stat", "options": {}}).options  # stat: its own defaults


def test_small_empty_panels_clip_their_message_without_scrollbars() -> None:
    """The elasticsearch mixin's 3-unit-high stats: the "No data" reason overflowed into light
    scrollbars. The message clips (and breaks long metric names); scrollbars stay dark."""
    from stackctl.report.page import CSS

    msg = next(rule for rule in CSS.split("}") if rule.strip().startswith(".msg{"))
    assert "overflow:hidden" in msg and "overflow-wrap:anywhere" in msg and "safe center" in msg
    assert "color-scheme:dark" in CSS
