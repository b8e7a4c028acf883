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


def test_up_renders_user_dashboards_of_every_kind_with_grafana_in_the_stack(tmp_path: Path) -> None:
    """`up`'s render preflight (Grafana in the stack) does not refuse a PostgreSQL input, library
    panels or a schema v2 dashboard: it warns, and provisions them."""
    import shutil

    from stackctl.config import load_config
    from stackctl.render.configs import render

    mine = tmp_path / "mine"
    shutil.copytree(FIXTURES, mine)
    (tmp_path / "stackctl.yaml").write_text("dashboards: [mine]\nservices: [prometheus, grafana]\n")
    cfg = load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)
    tree = render(cfg, "native")
    provisioned = sorted(p.name for p in (tree.root / "grafana" / "dashboards" / "user-mine").glob("*.json"))
    assert provisioned == sorted(p.name for p in FIXTURES.glob("*.json"))
    assert any("grafana-postgresql-datasource" in w and "the stack does not run" in w for w in tree.warnings)
