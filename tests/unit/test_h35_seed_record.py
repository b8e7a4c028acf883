"""`seed --scenario FILE.yaml` records the file, so a plain `verify` loads it again (found by
the evaluations on public files: verify said "unknown scenario" after seeding a generated file)."""

from __future__ import annotations

from pathlib import Path

from stackctl.seeding import daemon
from stackctl.seeding.background import recorded_file
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.engine import SeedReport
from stackctl.state.seeder import read_status

CATALOG = load_scenario("http-healthy")


def test_a_users_scenario_file_is_recorded_by_path(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: from-the-file\n")
    assert recorded_file(tmp_path / "state", CATALOG, str(scenario)) == str(scenario.resolve())


def test_synthesized_and_catalog_scenarios_are_found_by_name(tmp_path: Path) -> None:
    synth = tmp_path / "state" / "synth"
    synth.mkdir(parents=True)
    kept = synth / f"{CATALOG.name}.yaml"
    kept.write_text(f"name: {CATALOG.name}\n")
    assert recorded_file(tmp_path / "state", CATALOG, str(kept)) is None
    assert recorded_file(tmp_path / "state", CATALOG, "http-healthy") is None


def test_the_finished_status_keeps_the_recorded_file(tmp_path: Path) -> None:
    daemon.record_foreground(tmp_path, "from-the-file", file="/repo/s.yaml")
    daemon.record_foreground(tmp_path, "from-the-file", SeedReport("from-the-file", 1, 60.0), file="/repo/s.yaml")
    status = read_status(tmp_path)
    assert status["scenario_file"] == "/repo/s.yaml" and status["scenario"] == "from-the-file"
