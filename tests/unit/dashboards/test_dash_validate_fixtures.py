"""The static dashboard check (what `up` runs before starting) agrees with the model on the
dashboards users bring: other datasources are warnings, never a refusal; library panel
references need no type; schema v2 is checked as it is provisioned."""

from __future__ import annotations

from pathlib import Path

import yaml

from stackctl.assets import asset_path
from stackctl.dashboards.datasources import Datasources
from stackctl.dashboards.validate import DashboardFile, check_files

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dashboards"


def _problems(name: str) -> list[tuple[str, str]]:
    doc = yaml.safe_load(asset_path("grafana", "provisioning", "datasources", "datasources.yml").read_text())
    return [(p.severity, p.message) for p in check_files([DashboardFile(FIXTURES / name, "mine")], Datasources.from_provisioning([doc]))]


def test_user_dashboards_have_no_errors() -> None:
    for path in sorted(FIXTURES.glob("*.json")):
        assert [m for s, m in _problems(path.name) if s == "error"] == [], path.name


def test_a_postgres_input_is_a_warning_naming_what_verify_does() -> None:
    warnings = [m for s, m in _problems("postgres-mixed.json") if "grafana-postgresql-datasource" in m]
    assert warnings and all("the stack does not run" in m and "verify skips it" in m for m in warnings)
    assert not [m for s, m in _problems("postgres-mixed.json") if s == "error"]
