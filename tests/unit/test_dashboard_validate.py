"""Dashboards checked as Grafana loads them (stackctl/dashboards/validate.py), on fixtures
written for it (tests/fixtures/grafana/dashboards) and on the dashboards stackctl ships."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stackctl.assets import asset_path
from stackctl.dashboards.datasources import Datasources
from stackctl.dashboards.schema import known_keys
from stackctl.dashboards.validate import DashboardFile, check_dashboard, check_file, check_files, check_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "grafana" / "dashboards"


@pytest.fixture(scope="module")
def provisioned() -> Datasources:
    doc = yaml.safe_load(asset_path("grafana", "provisioning", "datasources", "datasources.yml").read_text())
    return Datasources.from_provisioning([doc])


def errors(path: Path, ds: Datasources) -> list[str]:
    return [str(p) for p in check_file(path, ds) if p.severity == "error"]


def test_the_shipped_dashboards_have_no_problem_at_all(provisioned: Datasources) -> None:
    root = asset_path("grafana", "dashboards")
    files = [DashboardFile(p, p.parent.name) for p in sorted(root.rglob("*.json"))]
    assert files
    assert [str(p) for p in check_files(files, provisioned)] == []


@pytest.mark.parametrize("name", ["service.json", "exported.json"])
def test_valid_fixtures_pass_clean(name: str, provisioned: Datasources) -> None:
    assert [str(p) for p in check_file(FIXTURES / "valid" / name, provisioned)] == []


@pytest.mark.parametrize("name, line, fragment", [
    ("past-24-columns.json", 73, "panel 2 'Errors': panels[1].gridPos.x: x 12 + w 16 = 28 runs past Grafana's 24 columns"),
    ("duplicate-panel-ids.json", 69, "panels[1].id: panel id 1 is already used by panel 1 'Requests'"),
    ("unknown-datasource.json", 60, "panels[0].targets[0].datasource: datasource 'P1809F7CD0C75ACF3' is not provisioned"),
    ("missing-expr.json", 58, "panels[0].targets[0].expr: a prometheus target needs its query in 'expr' (found query instead)"),
    ("schema-too-old.json", 4, "schemaVersion: schemaVersion 8 is older than Grafana 12 migrates (13)"),
    ("bad-uid.json", 3, "uid: uid is 60 characters; Grafana accepts at most 40"),
    ("api-export.json", 6, "this is an API export"),
    ("unresolved-input.json", 53, "${DS_LOKI_PROD} is an export placeholder with no __inputs entry"),
    ("not-json.json", 4, "not valid JSON: Expecting property name enclosed in double quotes"),
])
def test_each_invalid_fixture_names_file_line_panel_and_field(name: str, line: int, fragment: str, provisioned: Datasources) -> None:
    path = FIXTURES / "invalid" / name
    found = errors(path, provisioned)
    assert any(e.startswith(f"{path}:{line}: ") and fragment in e for e in found), found


def test_tolerated_problems_are_warnings_not_errors(provisioned: Datasources) -> None:
    problems = check_file(FIXTURES / "warnings" / "tolerated.json", provisioned)
    assert problems and all(p.severity == "warning" for p in problems), [str(p) for p in problems]
    text = "\n".join(str(p) for p in problems)
    assert "no uid" in text
    assert "refers to datasource 'Prometheus' by name; use its uid 'prometheus'" in text
    if known_keys("panel"):  # key names from grafana-foundation-sdk (Python >= 3.11)
        assert "unknown key 'datsource' (did you mean 'datasource'?)" in text
    assert "overlaps panel 1 'Requests'" in text
    assert "no id: Grafana assigns one" in text


def test_uid_characters_and_schema_bounds(provisioned: Datasources) -> None:
    base = json.loads((FIXTURES / "valid" / "service.json").read_text())
    bad = dict(base, uid="has space", schemaVersion=43)
    found = [str(p) for p in check_dashboard(bad, "d.json", provisioned)]
    assert any("characters Grafana refuses" in f for f in found)
    assert any("newer than the classic model Grafana migrates (42)" in f for f in found)
    assert not [p for p in check_dashboard(dict(base, schemaVersion=13), "d.json", provisioned) if p.severity == "error"]


def test_datasource_variable_of_a_type_not_provisioned_is_an_error(provisioned: Datasources) -> None:
    base = json.loads((FIXTURES / "valid" / "service.json").read_text())
    base["templating"]["list"][0]["query"] = "influxdb"
    found = [str(p) for p in check_dashboard(base, "d.json", provisioned) if p.severity == "error"]
    assert any("lists datasources of type 'influxdb', and none is provisioned" in f for f in found), found


def test_collapsed_row_panels_count_for_unique_ids(provisioned: Datasources) -> None:
    base = json.loads((FIXTURES / "valid" / "service.json").read_text())
    base["panels"][2]["panels"][0]["id"] = 2
    found = [str(p) for p in check_dashboard(base, "d.json", provisioned)]
    assert any("panels[2].panels[0].id: panel id 2 is already used" in f for f in found), found


def test_a_uid_or_title_twice_across_files_is_an_error(tmp_path: Path, provisioned: Datasources) -> None:
    src = FIXTURES / "valid" / "service.json"
    (tmp_path / "copy.json").write_text(src.read_text())
    found = [str(p) for p in check_files([DashboardFile(src, "a"), DashboardFile(tmp_path / "copy.json", "a")], provisioned)]
    assert any("uid 'fixture-service' is also used by" in f for f in found)
    assert any("title 'Fixture service' is also used by" in f for f in found)


def test_pathological_json_is_a_clear_problem_not_a_crash(provisioned: Datasources) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert check_text(deep, "deep.json", provisioned)[0].severity == "error"
    assert "a JSON object" in str(check_text("[]", "list.json", provisioned)[0])


def test_verify_reports_what_grafana_would_reject(tmp_path: Path) -> None:
    from stackctl.config import load_config
    from stackctl.verify import dashboard_files

    (tmp_path / "stackctl.yaml").write_text("{}\n")
    cfg = load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)
    results = dashboard_files.check(cfg, (FIXTURES / "invalid" / "past-24-columns.json", FIXTURES / "warnings"))
    failed = [r for r in results if r.failed]
    assert [(r.dashboard, r.query) for r in failed] == [(f"{FIXTURES / 'invalid' / 'past-24-columns.json'}:73", "panels[1].gridPos.x")]
    assert any(r.detail.startswith("warning: refers to datasource 'Prometheus' by name") for r in results)
    shipped = [r for r in results if r.panel == "(file)"]
    assert len(shipped) >= len(list(asset_path("grafana", "dashboards").rglob("*.json"))), "every shipped dashboard is checked"


def test_sdk_key_names_are_read() -> None:
    pytest.importorskip("grafana_foundation_sdk")
    assert {"panels", "schemaVersion", "uid", "templating"} <= known_keys("dashboard")
    assert {"gridPos", "targets", "datasource", "fieldConfig"} <= known_keys("panel")
