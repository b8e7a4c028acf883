"""grafana.provisioning end to end on one native stack: a compose user's provisioning folder
(their Prometheus datasource with its own name and uid, a provider whose options.path is the
container's /var/lib/grafana/dashboards) goes through `up`, `seed --from` and `verify`, and the
panels that reference their uid and their name are populated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from helpers import isolated_env, repo_stack, require_binaries, stackctl

pytestmark = pytest.mark.native
UID = "P1809F7CD0C75ACF3"
DATASOURCES = f"""apiVersion: 1
deleteDatasources:
  - name: Old Prometheus
    orgId: 1
datasources:
  - name: Homelab Prometheus
    type: prometheus
    uid: {UID}
    access: proxy
    url: http://prometheus:9090
    isDefault: true
    jsonData:
      httpMethod: POST
"""
PROVIDERS = """apiVersion: 1
providers:
  - name: homelab
    folder: Homelab
    folderUid: homelab
    type: file
    options:
      path: /var/lib/grafana/dashboards
"""


def _dashboard() -> dict[str, Any]:
    by_uid = {"type": "prometheus", "uid": UID}
    return {
        "title": "Homelab API", "uid": "homelab-api", "schemaVersion": 39,
        "templating": {"list": [{"name": "job", "type": "query", "datasource": by_uid, "refresh": 1,
                                 "query": {"query": "label_values(homelab_http_requests_total, job)", "refId": "V"},
                                 "current": {}, "options": []}]},
        "panels": [
            {"id": 1, "type": "timeseries", "title": "Request rate", "datasource": by_uid, "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
             "targets": [{"refId": "A", "datasource": by_uid,
                          "expr": 'sum by (status) (rate(homelab_http_requests_total{job=~"$job"}[5m]))'}]},
            {"id": 2, "type": "stat", "title": "In flight", "datasource": "Homelab Prometheus",
             "gridPos": {"h": 8, "w": 12, "x": 12, "y": 0},
             "targets": [{"refId": "A", "expr": 'sum(homelab_http_in_flight{job=~"$job"})'}]},
        ],
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    require_binaries("prometheus", "promtool")
    root = tmp_path_factory.mktemp("h43")
    grafana = root / "repo-src" / "grafana"
    (grafana / "provisioning" / "datasources").mkdir(parents=True)
    (grafana / "provisioning" / "dashboards").mkdir(parents=True)
    (grafana / "dashboards").mkdir()
    (grafana / "provisioning" / "datasources" / "datasource.yml").write_text(DATASOURCES)
    (grafana / "provisioning" / "dashboards" / "dashboard.yml").write_text(PROVIDERS)
    (grafana / "dashboards" / "api.json").write_text(json.dumps(_dashboard(), indent=2))
    with repo_stack(root, ("prometheus",), {"packs": [], "grafana": {"provisioning": str(grafana / "provisioning")}}) as stack:
        yield stack


def test_up_seed_from_and_verify_see_their_datasource(stack: tuple[dict[str, str], Path]) -> None:
    env, repo = stack
    rendered = Path(env["STACKCTL_STATE_DIR"]) / "rendered" / "grafana"
    assert (rendered / "dashboards" / "prov-homelab" / "api.json").is_file()
    assert UID in (rendered / "provisioning" / "datasources" / "datasources.yml").read_text()
    grafana = repo.parent / "repo-src" / "grafana"
    seeded = stackctl("seed", "--from", str(grafana), "--history", "10m", "--duration", "0", "--random-seed", "2", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    result = stackctl("verify", "--json", env=env, cwd=repo)
    report = json.loads(result.stdout)
    panels = [r for r in report["results"] if r["kind"] == "panel" and r["dashboard"] == "Homelab API"]
    assert sorted((r["panel"], r["status"]) for r in panels) == [("In flight", "populated"), ("Request rate", "populated")], panels
    files = [r for r in report["results"] if r["kind"] == "dashboard" and "api.json" in r["dashboard"]]
    assert files and all(r["status"] == "ok" for r in files), files
    assert "another Grafana" not in result.stdout  # their uid is provisioned, not adopted


def test_seed_without_from_synthesizes_from_their_providers_folders(stack: tuple[dict[str, str], Path]) -> None:
    env, repo = stack
    seeded = stackctl("seed", "--history", "5m", "--duration", "0", "--random-seed", "4", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert "from 1 file(s)" in seeded.stdout + seeded.stderr, seeded.stdout + seeded.stderr  # their api.json
    report = json.loads(stackctl("verify", "--json", env=env, cwd=repo).stdout)
    panels = [r for r in report["results"] if r["kind"] == "panel" and r["dashboard"] == "Homelab API"]
    assert panels and all(r["status"] == "populated" for r in panels), panels


def test_bad_provisioning_stops_up_before_anything_starts(tmp_path: Path) -> None:
    require_binaries("prometheus", "promtool")
    repo = tmp_path / "bad"
    (repo / "prov" / "dashboards").mkdir(parents=True)
    (repo / "prov" / "dashboards" / "d.yml").write_text("apiVersion: 1\nproviders:\n  - name: a\n    type: file\n")
    (repo / "stackctl.yaml").write_text("grafana:\n  provisioning: prov\n")
    up = stackctl("up", env=isolated_env(tmp_path, ("prometheus",), STACKCTL_RUNTIME="native"), cwd=repo)
    assert up.returncode != 0
    assert "d.yml:3: providers[0].options: a file provider needs options.path" in up.stderr, up.stderr
    assert not (tmp_path / "state" / "stack.json").exists()


def _grafana_runtime() -> str | None:
    import shutil
    import subprocess

    from stackctl.config import default_images

    if shutil.which("grafana") or shutil.which("grafana-server"):
        return "native"
    image = default_images()["grafana"]
    if shutil.which("docker") and subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0:
        return "docker"
    return None


@pytest.mark.grafana
def test_a_real_grafana_has_their_datasource_and_folder(tmp_path: Path) -> None:
    """Where Grafana runs: their uid is a datasource at the stack's Prometheus, their provider's
    folder title and uid hold the dashboard, and the stack's Prometheus is no longer the default."""
    import time

    import requests

    runtime = _grafana_runtime()
    if runtime is None:
        pytest.skip("no grafana here: neither grafana / grafana-server on PATH nor its image "
                    "(it cannot be installed on this machine; the test runs where it can)")
    env = isolated_env(tmp_path, ("prometheus", "grafana"), STACKCTL_RUNTIME=runtime)
    env = {k: v for k, v in env.items() if not (k.startswith("STACKCTL_IMAGE_") and "GRAFANA" in k)}
    repo = tmp_path / "repo"
    (repo / "grafana" / "provisioning" / "datasources").mkdir(parents=True)
    (repo / "grafana" / "provisioning" / "dashboards").mkdir(parents=True)
    (repo / "grafana" / "dashboards").mkdir()
    (repo / "grafana" / "provisioning" / "datasources" / "datasource.yml").write_text(DATASOURCES)
    (repo / "grafana" / "provisioning" / "dashboards" / "dashboard.yml").write_text(PROVIDERS)
    (repo / "grafana" / "dashboards" / "api.json").write_text(json.dumps(_dashboard()))
    (repo / "stackctl.yaml").write_text("packs: []\ngrafana:\n  provisioning: grafana/provisioning\n")
    try:
        up = stackctl("up", "--timeout", "180", env=env, cwd=repo)
        assert up.returncode == 0, up.stderr
        base = f"http://127.0.0.1:{env['STACKCTL_PORT_GRAFANA']}"
        password = json.loads(stackctl("urls", "--json", "--show-password", env=env, cwd=repo).stdout)["credentials"]["grafana"]["password"]
        auth = ("admin", password)
        theirs = requests.get(f"{base}/api/datasources/uid/{UID}", auth=auth, timeout=10).json()
        assert theirs["name"] == "Homelab Prometheus" and theirs["isDefault"] is True
        assert theirs["url"].endswith(":9090") or theirs["url"].endswith(f":{env['STACKCTL_PORT_PROMETHEUS']}")
        ours = requests.get(f"{base}/api/datasources/uid/prometheus", auth=auth, timeout=10).json()
        assert ours["isDefault"] is False
        deadline, meta = time.monotonic() + 60, dict[str, Any]()
        while time.monotonic() < deadline and not meta:
            response = requests.get(f"{base}/api/dashboards/uid/homelab-api", auth=auth, timeout=10)
            meta = response.json().get("meta", {}) if response.ok else {}
            time.sleep(0 if meta else 1)
        assert meta.get("folderTitle") == "Homelab" and meta.get("folderUid") == "homelab", meta
    finally:
        stackctl("down", "--volumes", env=env, cwd=repo)
