"""From files to an ordinary scenario: collected through the dashboard model, written as
commented YAML that the catalog loads, deterministic, and runnable by the generators."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stackctl.errors import ScenarioError
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.generate import PhaseTimeline, advance_all, build_generators, grid
from stackctl.seeding.synth import record
from stackctl.seeding.synth.collect import collect
from stackctl.seeding.synth.pipeline import generate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "synth"
NOW = 1_800_000_000.0


def test_collect_reads_every_layout_variables_and_rules() -> None:
    inputs = collect([FIXTURES / "shop"])
    sources = {q.source for q in inputs.queries}
    assert "shop-workers.json: Heartbeat age" in sources  # a library panel in a legacy row
    assert any(s.startswith("shop.json: variable") for s in sources)  # label_values() variables
    repeated = [q for q in inputs.queries if q.source == "shop.json: Requests on $handler"]
    assert repeated and repeated[0].spread == frozenset({"handler"})  # a repeat spreads its label
    assert {r.name for r in inputs.rules if r.kind == "record"} == {"shop:requests:rate5m"}
    assert inputs.panels == 16


def test_generated_scenario_loads_and_names_its_sources(tmp_path: Path) -> None:
    g = generate([FIXTURES / "shop"], "firing", "ShopHighLatency", now=NOW)
    path = tmp_path / "s.yaml"
    path.write_text(g.text)
    sc = load_scenario(str(path))
    assert sc.sources and not sc.packs
    assert [a.name for a in sc.expected_alerts] == ["ShopHighLatency"]
    assert [p.name for p in sc.phases] == ["healthy", "firing"] and sc.phases[1].duration >= 600
    assert "# shop_build_info: info" in g.text  # every metric says why it looks as it does
    assert "Recorded by rules, not seeded" in g.text


def test_same_inputs_same_scenario_and_same_seed_same_data(tmp_path: Path) -> None:
    a = generate([FIXTURES / "shop"], now=NOW).text
    assert a == generate([FIXTURES / "shop"], now=NOW).text
    path = tmp_path / "s.yaml"
    path.write_text(a)
    sc = load_scenario(str(path))
    end = int(NOW * 1000)

    def data(seed: int) -> list[np.ndarray]:
        gens = build_generators(sc, PhaseTimeline(sc.phases, end), seed, 15)
        return [s.values for s in advance_all(gens, grid(end, 1800, 15))]

    assert all(np.array_equal(x, y) for x, y in zip(data(5), data(5)))
    assert any(not np.array_equal(x, y) for x, y in zip(data(5), data(6)))


def test_absent_alert_firing_leaves_its_series_out() -> None:
    g = generate([FIXTURES / "shop"], "firing", "ShopHeartbeatMissing", now=NOW)
    assert "left out: the solution of an absent() alert" in g.text


def test_unknown_alert_and_empty_input_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no alert 'Nope'"):
        generate([FIXTURES / "shop"], "firing", "Nope")
    (tmp_path / "notes.yaml").write_text("hello: world\n")
    with pytest.raises(ScenarioError, match="no dashboard or rule file"):
        generate([tmp_path])


def test_record_writes_the_scenario_and_what_was_synthesized(tmp_path: Path) -> None:
    g = generate([FIXTURES / "shop"], now=NOW)
    path = record.write(g, tmp_path)
    assert record.scenario_path(tmp_path, g.plan.name) == path
    summary = record.summary_for(tmp_path, g.plan.name)
    assert summary and summary["metrics"] == len(g.plan.model.metrics) and len(summary["files"]) == 3
    assert json.loads(path.with_suffix(".json").read_text())["scenario"] == g.plan.name


def test_a_trend_alert_gets_a_gauge_that_falls(tmp_path: Path) -> None:
    rules = tmp_path / "disk.yml"
    rules.write_text("groups:\n- name: disk\n  rules:\n  - alert: DiskFillingUp\n"
                     "    expr: predict_linear(node_filesystem_avail_bytes[1h], 4 * 3600) < 0\n    for: 10m\n")
    g = generate([rules], "firing", "DiskFillingUp", now=NOW)
    path = tmp_path / "s.yaml"
    path.write_text(g.text)
    sc = load_scenario(str(path))
    end = int(NOW * 1000)
    gens = build_generators(sc, PhaseTimeline(sc.phases, end), 1, 15)
    avail = advance_all(gens, grid(end, 1800, 15))[0].values
    assert avail[-20:].mean() < avail[:20].mean() * 0.85 and avail.min() >= 0  # falling over 30 min, never below 0


def test_the_in_memory_scenario_is_the_file_the_catalog_loads(tmp_path: Path) -> None:
    from stackctl.seeding.synth.pipeline import scenario_of

    g = generate([FIXTURES / "shop"], "firing", "ShopHighErrorRate", now=NOW)
    path = tmp_path / "s.yaml"
    path.write_text(g.text)
    assert scenario_of(g) == load_scenario(str(path))


def test_api_exports_and_prometheusrule_resources_are_read(tmp_path: Path) -> None:
    dash = {"dashboard": {"title": "wrapped", "panels": [
        {"id": 1, "type": "stat", "title": "up", "targets": [{"refId": "A", "expr": 'sum(up{job="api"})'}]}]}, "meta": {}}
    (tmp_path / "export.json").write_text(json.dumps(dash))
    (tmp_path / "rule.yaml").write_text(
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: api}\nspec:\n  groups:\n"
        "  - name: api\n    rules:\n    - alert: ApiDown\n      expr: up{job=\"api\"} == 0\n      for: 5m\n")
    (tmp_path / "package.json").write_text('{"name": "not-a-dashboard"}')
    g = generate([tmp_path], "firing", "ApiDown", now=NOW)
    assert len(g.inputs.files) == 2 and any("package.json" in s for s in g.plan.skipped)
    assert [o.rule.name for o in g.plan.outcomes if o.solved] == ["ApiDown"]


@pytest.mark.parametrize("words", [["--from", "{a}", "{b}"], ["--from={a}", "{b}"], ["--history", "1m", "--from", "{a}", "{b}", "--duration", "0"]])
def test_seed_from_takes_several_paths_after_one_flag(tmp_path: Path, words: list[str]) -> None:
    """`seed --from a.json b/`: the second word is a path (named when missing), not a subcommand."""
    import os

    from helpers import stackctl

    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_")}
    env.update(STACKCTL_STATE_DIR=str(tmp_path / "state"), STACKCTL_PROJECT="fromwords")
    missing = tmp_path / "missing-rules.yml"
    args = [w.format(a=FIXTURES / "shop" / "dashboards", b=missing) for w in words]
    result = stackctl("seed", *args, env=env)
    assert result.returncode != 0
    assert f"{missing}: no such file or folder" in result.stderr, result.stderr
    status = stackctl("seed", "status", env=env)  # a subcommand name after the options still is one
    assert status.returncode == 0 and "not started" in status.stdout, status.stderr
