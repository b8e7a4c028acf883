"""h34's failure classes on public dashboards (no server needed): LogQL targets synthesized
into the log streams they select, targets saved without refId, gridPos keys left out by
grafonnet, and the report drawing hidden legends, variables in titles, ``$`` as text,
bar gauges over their max and ``continuous-*`` colour modes as Grafana does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import yaml

from stackctl.assets import asset_path
from stackctl.dashboards import Resolver, load_dashboard
from stackctl.dashboards.datasources import Datasources
from stackctl.dashboards.validate import check_file
from stackctl.query.logql import parse
from stackctl.report import source, theme
from stackctl.report.colors import continuous_color
from stackctl.seeding.generate import PhaseTimeline
from stackctl.seeding.loggen import LogGen
from stackctl.seeding.synth import collect as C
from stackctl.seeding.synth.logs import substitute
from stackctl.seeding.synth.pipeline import generate, scenario_of
from stackctl.verify.dashboards import ResolvedDashboard

CLASSES = Path(__file__).resolve().parents[1] / "fixtures" / "synth" / "classes"
NOW = 1_800_000_000.0


def _lines(stream: object, seconds: int = 120) -> list[tuple[dict[str, str], str]]:
    gen = LogGen(stream, PhaseTimeline([], int(NOW * 1000)), 7, 15.0)  # type: ignore[arg-type]
    ts = np.arange(int(NOW * 1000) - seconds * 1000, int(NOW * 1000), 15_000, dtype=np.int64)
    return [(dict(key), line) for key, entries in gen.advance(ts).items() for _, line in entries]


def _fields(line: str) -> dict[str, str]:
    if line.startswith("{"):
        return {k: str(v) for k, v in json.loads(line).items()}
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', line)}


def test_logql_targets_become_streams_whose_lines_they_select() -> None:
    folder = CLASSES / "h34-logql-streams"
    g = generate([folder], now=NOW)
    sc = scenario_of(g)
    lines = [pair for s in sc.logs for pair in _lines(s)]
    assert lines
    inputs = C.collect([folder])
    selected = 0
    for t in inputs.logs:
        q = parse(substitute(t, g.plan.model))
        if any("no value of pod" in n and t.source in n for n in g.plan.skipped):
            continue  # the dashboard's own $pod has no values (its Prometheus panels are empty too)
        hits = [(labels, line) for labels, line in lines
                if all(m.matches(labels.get(m.label)) for m in q.selectors[0])
                and all((term in line) == (op == "|=") for op, term in q.line_terms if op in ("|=", "!=") and term)
                and all(m.label == "__error__" or m.matches(_fields(line).get(m.label)) for m in q.label_filters)
                and (q.unwrap is None or re.match(r"[\d.]+", _fields(line).get(q.unwrap, "")))]
        assert hits, f"{t.source}: no written line is selected by {t.expr}"
        selected += 1
    assert selected >= 10  # level=~"ERROR|WARN" too: written as the app spells its levels (level_names)


def test_a_loki_label_variable_keeps_its_saved_value_and_backticks_parse() -> None:
    g = generate([CLASSES / "h34-logql-streams" / "grafana-devenv-loki-fakedata.json"], now=NOW)
    labels = [s.labels for s in scenario_of(g).logs]
    assert {"place": "luna"} in labels and {"place": "moon"} in labels  # $place: its saved "luna", as Grafana keeps it


def test_targets_without_ref_id_get_grafanas_letters_and_keep_their_legends() -> None:
    d = load_dashboard(CLASSES / "h34-no-refid" / "kubernetes-mixin-persistentvolumesusage.json")
    space = d.panels[0]
    assert [t.ref_id for t in space.targets] == ["A", "B"] and [t.legend for t in space.targets] == ["Used Space", "Free Space"]
    r = Resolver(d, None, NOW)
    view = source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations())), NOW)
    assert "" not in view.panels[0].display.legends
    assert [p.grid.x for p in view.panels] == [0, 18, 0, 18]  # gridPos without x: Grafana's 0, not a flowed layout


def test_a_gridpos_without_x_is_not_an_error() -> None:
    path = CLASSES / "h34-no-refid" / "kubernetes-mixin-persistentvolumesusage.json"
    doc = yaml.safe_load(asset_path("grafana", "provisioning", "datasources", "datasources.yml").read_text())
    errors = [str(p) for p in check_file(path, Datasources.from_provisioning([doc])) if p.severity == "error"]
    assert not errors


def test_report_titles_legends_and_colours_as_grafana_draws_them() -> None:
    d = load_dashboard(CLASSES / "h34-logql-streams" / "loki-shapes-assembled.json")
    r = Resolver(d, None, NOW)
    view = source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations()), r.variables), NOW)
    assert "Cross App Logs cross api" in [p.title for p in view.panels]
    k = load_dashboard(CLASSES / "h34-report-shapes" / "kafka-jmx-test-dash-excerpt.json")
    rk = Resolver(k, None, NOW)
    kv = source.view(ResolvedDashboard(k, tuple(rk.panels()), tuple(rk.annotations())), NOW)
    hidden = {p.title: p.legend_hidden for p in kv.panels}
    assert hidden["Broker Bytes Out Total"] and hidden["Network Error Total"] and not hidden["Total Time Ms"]
    assert theme.MPL_STYLE["text.parse_math"] is False  # `${var}` and `$` units are text
    assert continuous_color("continuous-GrYlRd", 0.0) == "#73BF69" and continuous_color("continuous-GrYlRd", 1.0) == "#F2495C"
    assert continuous_color("palette-classic", 0.5) is None


def test_logql_loki_rejects_is_said_without_loki() -> None:
    import pytest

    from stackctl.query.logql import LogQLError

    for bad, why in [('sum(count_over_time({app="a"}))', "needs a log range"), ('{app=~".*"}', "empty-compatible"),
                     ('{app="a"} |~ "(unclosed"', "error parsing regexp"), ('{app="a"} |~ "(?=x)y"', "lookaround")]:
        with pytest.raises(LogQLError, match=why):
            parse(bad)
    for good in ['sum(rate({a="b"} |= "x" [$__auto]))', 'count_over_time({a="b"}[5m] offset 1h)',
                 '{a="b"} | pattern "<ip> - - <_>" | ip="1.2.3.4"', '{a="b"} | logfmt | duration > 10s']:
        parse(good)
    q = parse('{app="a", x!="b"} |= "err" != "debug" | json | status != "200" |~ "time.*out"')
    assert q.line_terms == (("|=", "err"), ("!=", "debug"), ("|~", "time.*out"))  # `| status != ...` is a label filter


def test_state_timelines_draw_bands_per_series_and_pies_their_labels() -> None:
    from stackctl.report import charts
    from stackctl.report.collect import PanelData, prometheus_series
    from stackctl.report.states import runs
    from stackctl.verify.checks import CheckResult

    d = load_dashboard(CLASSES / "h34-report-shapes" / "kafka-jmx-test-dash-excerpt.json")
    r = Resolver(d, None, NOW)
    view = source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations())), NOW)
    timeline = next(p for p in view.panels if p.type == "state-timeline")
    assert timeline.kind == "states"
    matrix = {"metric": {"instance": "a"}, "values": [[NOW - 60 + 15 * i, str(v)] for i, v in enumerate([1, 1, 2, 2])]}
    series = prometheus_series("q", "A", "", (matrix,))
    pd = PanelData(timeline, CheckResult("panel", "Test Dash", timeline.title, "q", "populated", "1 series"), 15, (NOW - 3600, NOW),
                   series=series)
    bands = runs(pd, series[0], 0, 2, {})
    assert [(b[2], b[1] - b[0]) for b in bands] == [("1", 30.0), ("2", 30.0)]  # equal values merged, as mergeValues does
    assert charts.png(charts.draw(pd, 600, 200, title=timeline.title, legend=True))[:4] == b"\x89PNG"


def test_the_grid_compacts_upwards_as_grafanas_does() -> None:
    from stackctl.report.layout import compact
    from stackctl.report.source import Grid

    # an excerpt of a dashboard (dotdc's global view): the panel saved at y 82 floats up under its column
    grids = [Grid(0, 1, 6, 8), Grid(6, 1, 6, 8), Grid(14, 1, 10, 12), Grid(12, 82, 12, 8), Grid(0, 1, 12, 4)]
    assert compact(grids) == [Grid(0, 0, 6, 8), Grid(6, 0, 6, 8), Grid(14, 0, 10, 12), Grid(12, 12, 12, 8), Grid(0, 8, 12, 4)]


def test_tables_apply_grafanas_organize_transformation() -> None:
    from stackctl.report.bodies import organized

    shapes = [{"id": "organize", "options": {"indexByName": {"instruction": 0, "Value": 1}, "renameByName": {"Value": "P99 CU"},
                                             "excludeByName": {"job": True}}}]
    head, rows = organized(["instance", "instruction", "job", "Value"], [["a:1", "swap", "api", "61.4"]], shapes)
    assert head == ["instruction", "P99 CU", "instance"] and rows == [["swap", "61.4", "a:1"]]


def test_an_external_panel_plugin_is_said_to_be_missing() -> None:
    from stackctl.report.bodies import message
    from stackctl.report.collect import PanelData
    from stackctl.verify.checks import CheckResult

    d = load_dashboard(CLASSES / "h34-report-shapes" / "kafka-jmx-test-dash-excerpt.json")
    r = Resolver(d, None, NOW)
    clock = next(p for p in source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations())), NOW).panels
                 if p.type == "grafana-clock-panel")
    pd = PanelData(clock, CheckResult("panel", "Test Dash", "Houston", "", "skipped", "no queries"), 15, (NOW - 3600, NOW))
    assert message(pd)[0] == "Panel plugin not found" and "grafana-clock-panel" in message(pd)[1]


def test_variables_inside_regexes_and_on_other_labels_find_series() -> None:
    # loki-mixin's logs dashboard: pod=~"$deployment.*" and exported_namespace="$namespace"
    g = generate([CLASSES / "h34-logql-streams" / "loki-mixin-loki-logs.json"], now=NOW)
    m = g.plan.model.metrics

    def values(metric: str, label: str) -> set[str]:
        return {s.labels[label] for s in m[metric].series if label in s.labels}

    deployments = values("kube_deployment_created", "deployment")
    assert deployments and all(any(p.startswith(d) for d in deployments) for p in values("kube_pod_container_info", "pod"))
    assert all(any(p.startswith(d) for d in deployments) for p in values("go_goroutines", "pod"))
    assert values("loki_build_info", "namespace") <= values("promtail_custom_bad_words_total", "exported_namespace")


def test_grafanas_own_panels_say_what_grafana_would_list() -> None:
    from stackctl.report.bodies import message
    from stackctl.report.collect import PanelData
    from stackctl.verify.checks import CheckResult

    d = load_dashboard(CLASSES / "h34-report-shapes" / "grafana-devenv-home-dashlists.json")
    r = Resolver(d, None, NOW)
    first = source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations())), NOW).panels[1]
    pd = PanelData(first, CheckResult("panel", "Home", first.title, "", "skipped", "no queries (dashlist panel)"), 15, (NOW - 3600, NOW))
    assert message(pd) == ("Dashboard list", "Grafana's own dashboards (search; tags panel-tests): not drawn here")


def test_legacy_graphs_draw_as_grafanas_timeseries_migration_does() -> None:
    from stackctl.report.collect import prometheus_series, styled

    d = load_dashboard(CLASSES / "h34-logql-streams" / "loki-mixin-loki-logs.json")
    r = Resolver(d, None, NOW)
    rate = next(p for p in source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations())), NOW).panels
                if p.title == "Log Rate")
    assert rate.display.custom["stacking"]["mode"] == "normal" and rate.display.custom["fillOpacity"] == 10
    matrix = [{"metric": {"level": lvl}, "values": [[NOW - 60, "1"], [NOW, "2"]]} for lvl in ("warn", "error", "info")]
    colors = {s.name: s.color for s in styled(prometheus_series("q", "A", "{{level}}", tuple(matrix)), rate.display.overrides)}
    assert colors == {"warn": "#FF780A", "error": "#E02F44", "info": "#56A64B"}  # seriesOverrides alias -> color


def test_transformations_the_report_does_not_apply_are_named() -> None:
    from stackctl.report.bodies import unapplied_transformations
    from stackctl.report.collect import PanelData
    from stackctl.verify.checks import CheckResult

    d = load_dashboard(CLASSES / "h34-report-shapes" / "dotdc-k8s-views-global-excerpt.json")
    r = Resolver(d, None, NOW)
    cpu = source.view(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations())), NOW).panels[0]
    pd = PanelData(cpu, CheckResult("panel", "Global", cpu.title, "", "populated", "4 series"), 15, (NOW - 3600, NOW))
    assert unapplied_transformations(pd) == ["calculateField", "organize"]  # organize is applied to tables only


def test_loki_annotation_queries_get_their_streams_too(tmp_path: Path) -> None:
    doc = {"title": "Deploys", "uid": "h34-ann", "schemaVersion": 39,
           "annotations": {"list": [{"name": "deploys", "enable": True, "iconColor": "blue", "datasource": {"type": "loki", "uid": "loki"},
                                     "expr": '{app="deployer"} |= "deployed"'}]},
           "panels": [{"id": 1, "type": "timeseries", "title": "up", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                       "datasource": {"type": "prometheus", "uid": "prometheus"}, "targets": [{"refId": "A", "expr": "up"}]}]}
    (tmp_path / "deploys.json").write_text(json.dumps(doc))
    logs = scenario_of(generate([tmp_path / "deploys.json"], now=NOW)).logs
    assert [s.labels for s in logs] == [{"app": "deployer"}] and all("deployed" in m.template for m in logs[0].messages)
