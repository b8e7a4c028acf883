"""Dashboards exported from a running Grafana carry its datasource uids: provisioning maps them."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from stackctl.assets import asset_path
from stackctl.dashboards.datasources import Datasources
from stackctl.dashboards.files import adopt_datasources, prepare_user_dashboard
from stackctl.dashboards.validate import check_file

FOREIGN = {
    "title": "FastAPI", "uid": "fastapi", "schemaVersion": 39,
    "panels": [
        {"id": 1, "type": "timeseries", "title": "Requests", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
         "datasource": {"type": "prometheus", "uid": "PBFA97CFB590B2093"},
         "targets": [{"refId": "A", "expr": "rate(http_requests_total[5m])",
                      "datasource": {"type": "prometheus", "uid": "e4584a9f-5364-4b3e-a851-7abbc5250820"}}]},
        {"id": 2, "type": "table", "title": "Orders", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
         "datasource": {"type": "grafana-postgresql-datasource", "uid": "P44368ADAD746BC27"},
         "targets": [{"refId": "A", "rawSql": "select 1"}]},
        {"id": 3, "type": "stat", "title": "By variable", "gridPos": {"x": 0, "y": 8, "w": 12, "h": 8},
         "datasource": {"type": "prometheus", "uid": "${datasource}"}, "targets": [{"refId": "A", "expr": "up"}]},
    ],
    "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
}


def test_foreign_prometheus_uids_become_the_stacks_own(tmp_path: Path) -> None:
    path = tmp_path / "fastapi.json"
    path.write_text(json.dumps(FOREIGN))
    out = json.loads(prepare_user_dashboard(path))
    first, postgres, by_var = out["panels"]
    assert first["datasource"] == {"type": "prometheus", "uid": "prometheus"}
    assert first["targets"][0]["datasource"]["uid"] == "prometheus"
    assert postgres["datasource"]["uid"] == "P44368ADAD746BC27", "a datasource the stack does not run stays as written"
    assert by_var["datasource"]["uid"] == "${datasource}", "variables stay variables"
    assert adopt_datasources({"datasource": {"type": "loki", "uid": "x1"}}) == {"datasource": {"type": "loki", "uid": "loki"}}


def test_the_preflight_warns_instead_of_refusing_such_a_dashboard(tmp_path: Path) -> None:
    path = tmp_path / "fastapi.json"
    path.write_text(json.dumps(FOREIGN))
    docs = [yaml.safe_load(p.read_text()) for p in sorted(asset_path("grafana", "provisioning", "datasources").glob("*.yml"))]
    problems = check_file(path, Datasources.from_provisioning(docs))
    assert not [p for p in problems if p.severity == "error"], problems
    assert any("another Grafana's" in p.message for p in problems)
