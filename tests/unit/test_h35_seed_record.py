"""`seed --scenario FILE.yaml` records the file, so a plain `verify` loads it again (found
running the h35 evaluation: verify said "unknown scenario" after seeding a generated file)."""

from __future__ import annotations

from pathlib import Path

from stackctl.seeding import daemon
from stackctl.seeding.background import SeedRequest, recorded_name
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.engine import SeedReport
from stackctl.state.seeder import read_status

CATALOG = load_scenario("http-healthy")


def test_a_users_scenario_file_is_recorded_by_path(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: from-the-file\n")
    assert recorded_name(tmp_path / "state", SeedRequest(str(scenario)), CATALOG) == str(scenario.resolve())


def test_synthesized_and_catalog_scenarios_keep_their_name(tmp_path: Path) -> None:
    synth = tmp_path / "state" / "synth"
    synth.mkdir(parents=True)
    (synth / "synth-alert.yaml").write_text("name: synth-alert\n")
    assert recorded_name(tmp_path / "state", SeedRequest(str(synth / "synth-alert.yaml")), CATALOG) == "synth-alert"
    assert recorded_name(tmp_path / "state", SeedRequest("http-healthy"), CATALOG) == "http-healthy"


def test_the_finished_status_keeps_the_recorded_path(tmp_path: Path) -> None:
    daemon.record_foreground(tmp_path, "/repo/s.yaml")
    daemon.record_foreground(tmp_path, "/repo/s.yaml", SeedReport("from-the-file", 1, 60.0))
    assert read_status(tmp_path)["scenario"] == "/repo/s.yaml"
