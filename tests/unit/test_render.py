from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from stackctl.config import ScrapeTarget, load_config
from stackctl.dashboards.files import resolve_inputs
from stackctl.errors import ConfigError
from stackctl.render.configs import path_rewriter, render, scrape_config
from stackctl.runtime.compose import render_compose
from stackctl.runtime.native import NativeRuntime, container_path_map


@pytest.fixture
def cfg(tmp_path: Path):
    env = {"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state"), "STACKCTL_PROJECT": "demo",
           "STACKCTL_PORT_PROMETHEUS": "19090", "STACKCTL_PORT_ALERTMANAGER": "19093", "STACKCTL_PORT_NOTIFY_SINK": "19097"}
    return load_config(env=env, cwd=tmp_path)


def test_compose_binds_loopback_and_uses_images(cfg) -> None:
    doc = render_compose(cfg, ("prometheus", "redis", "alertmanager", "notify-sink"))
    assert set(doc["services"]) == {"prometheus", "redis", "alertmanager", "notify-sink"}
    assert doc["services"]["prometheus"]["ports"] == ["127.0.0.1:19090:9090"]
    assert doc["services"]["redis"]["ports"] == ["127.0.0.1:6379:6379"]
    assert doc["services"]["prometheus"]["image"] == cfg.images["prometheus"]
    assert doc["services"]["prometheus"]["labels"]["io.stackctl.project"] == "demo"
    assert "host.docker.internal:host-gateway" in doc["services"]["prometheus"]["extra_hosts"]


def test_compose_mounts_rendered_folders_read_only(cfg) -> None:
    doc = render_compose(cfg, ("prometheus", "grafana"))
    vols = doc["services"]["prometheus"]["volumes"]
    assert f"{cfg.state_dir}/rendered/prometheus:/etc/prometheus:ro" in vols
    assert "prometheus-data:/prometheus" in vols
    gvols = doc["services"]["grafana"]["volumes"]
    assert f"{cfg.state_dir}/rendered/grafana/provisioning:/etc/grafana/provisioning:ro" in gvols


@pytest.mark.promise("S1", "S2", "S5")
def test_compose_security_defaults(cfg) -> None:
    doc = render_compose(cfg, ("prometheus", "alertmanager", "pushgateway", "redis", "grafana", "loki", "notify-sink"))
    text = yaml.safe_dump(doc)
    assert "privileged" not in text and "network_mode" not in text and "docker.sock" not in text
    for svc in doc["services"].values():
        assert all(p.startswith("127.0.0.1:") for p in svc["ports"])
    # the Grafana password is passed through from the environment, never written in the file
    assert doc["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] is None
    assert doc["services"]["grafana"]["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_compose_healthchecks_declared(cfg) -> None:
    doc = render_compose(cfg, ("prometheus", "alertmanager", "pushgateway", "redis", "grafana", "loki", "notify-sink"))
    expected = {"prometheus": "/-/ready", "alertmanager": "/-/ready", "pushgateway": "/-/ready", "grafana": "/api/health", "loki": "/ready"}
    for name, path in expected.items():
        test = doc["services"][name]["healthcheck"]["test"]
        assert any(path in part for part in test), (name, test)
    assert doc["services"]["redis"]["healthcheck"]["test"][-1] == "ping"


def test_native_render_rewrites_hosts_and_paths(cfg) -> None:
    render(cfg, "native")
    prom = (cfg.state_dir / "rendered/prometheus/prometheus.yml").read_text()
    assert "127.0.0.1:19090" in prom and "127.0.0.1:19093" in prom and "prometheus:9090" not in prom
    assert f"{cfg.state_dir}/rendered/prometheus/rules/*.yml" in prom
    am = (cfg.state_dir / "rendered/alertmanager/alertmanager.yml").read_text() if (cfg.state_dir / "rendered/alertmanager/alertmanager.yml").exists() else ""
    assert "notify-sink:9097" not in am


def test_docker_render_keeps_service_names(cfg) -> None:
    render(cfg, "docker")
    prom = (cfg.state_dir / "rendered/prometheus/prometheus.yml").read_text()
    assert "alertmanager:9093" in prom and "/etc/prometheus/rules/*.yml" in prom


def test_path_rewriter_never_touches_longer_paths(tmp_path: Path) -> None:
    rewrite = path_rewriter({"/prometheus": tmp_path / "data", "/etc/prometheus": tmp_path / "cfg", "/data": tmp_path / "redis"})
    assert rewrite("--storage.tsdb.path=/prometheus") == f"--storage.tsdb.path={tmp_path}/data"
    assert rewrite("/etc/prometheus/rules/*.yml") == f"{tmp_path}/cfg/rules/*.yml"
    assert rewrite("/var/lib/data/x /datax") == "/var/lib/data/x /datax"
    assert rewrite('"/data"') == f'"{tmp_path}/redis"'


def test_native_command_from_definition(cfg) -> None:
    argv, _env = NativeRuntime().command(cfg, "prometheus") if NativeRuntime().missing(cfg, ("prometheus",)) == {} else pytest.skip("no prometheus binary")
    assert f"--config.file={cfg.state_dir}/rendered/prometheus/prometheus.yml" in argv
    assert f"--storage.tsdb.path={cfg.state_dir}/data/prometheus" in argv
    assert "--web.enable-remote-write-receiver" in argv and "--web.listen-address=127.0.0.1:19090" in argv
    assert container_path_map(cfg)["/data"] == cfg.state_dir / "data" / "redis"


def test_scrape_target_mapping() -> None:
    target = ScrapeTarget(target="localhost:8000", labels={"team": "a"})
    assert scrape_config(target, "docker")["static_configs"][0]["targets"] == ["host.docker.internal:8000"]
    assert scrape_config(target, "native")["static_configs"][0]["targets"] == ["127.0.0.1:8000"]
    assert scrape_config(ScrapeTarget(target="api.internal:9000"), "docker")["static_configs"][0]["targets"] == ["api.internal:9000"]


def test_for_sharing_export_is_mapped() -> None:
    exported = {
        "__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}],
        "id": 7,
        "panels": [{"datasource": "${DS_PROMETHEUS}", "targets": [{"datasource": {"uid": "${DS_PROMETHEUS}"}, "expr": "up"}]}],
    }
    out = resolve_inputs(exported, "x.json")
    assert "__inputs" not in out and "id" not in out
    assert "${DS_" not in json.dumps(out)
    assert out["panels"][0]["targets"][0]["datasource"]["uid"] == "prometheus"


def test_for_sharing_unknown_datasource_type_keeps_its_panels() -> None:
    """A PostgreSQL input does not refuse the dashboard: its panels stay (Grafana reports them
    alone), the Prometheus input is mapped, and the unresolved input's type stays readable."""
    exported = {"__inputs": [{"name": "DS_PG", "type": "datasource", "pluginId": "postgres"},
                             {"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"}],
                "panels": [{"datasource": "${DS_PG}", "targets": [{"rawSql": "select 1"}]},
                           {"datasource": "${DS_PROM}", "targets": [{"expr": "up"}]}]}
    out = resolve_inputs(exported, "x.json")
    assert [p["datasource"] for p in out["panels"]] == ["${DS_PG}", "prometheus"]
    assert out["__inputs"] == [{"name": "DS_PG", "type": "datasource", "pluginId": "postgres"}]


@pytest.mark.promise("B5")
def test_user_dashboard_not_json(tmp_path: Path) -> None:
    from stackctl.dashboards.files import prepare_user_dashboard

    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "panels": [\n    oops\n]}')
    with pytest.raises(ConfigError, match=r"bad.json:3:\d+: dashboard is not valid JSON"):
        prepare_user_dashboard(bad)


def test_render_is_in_place_and_drops_stale_files(cfg) -> None:
    render(cfg, "docker")
    stale = cfg.state_dir / "rendered/prometheus/rules/old.yml"
    stale.write_text("groups: []\n")
    render(cfg, "docker")
    assert not stale.exists()


def test_packs_selection_loads_only_those_packs(tmp_path: Path) -> None:
    (tmp_path / "stackctl.yaml").write_text("packs: [preview]\n")
    cfg = load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)
    render(cfg, "docker")
    root = cfg.state_dir / "rendered"
    assert sorted(p.name for p in (root / "prometheus/rules").iterdir()) == ["preview.yml"]
    assert sorted(p.name for p in (root / "grafana/dashboards").iterdir()) == ["preview"]
    providers = yaml.safe_load((root / "grafana/provisioning/dashboards/packs.yml").read_text())["providers"]
    assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards/preview"]
    (tmp_path / "stackctl.yaml").write_text("packs: []\n")
    cfg = load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)
    render(cfg, "docker")
    assert not (root / "prometheus/rules").exists() or not list((root / "prometheus/rules").iterdir())


def test_unknown_pack_suggests(tmp_path: Path) -> None:
    (tmp_path / "stackctl.yaml").write_text("packs: [previw]\n")
    with pytest.raises(ConfigError, match="stackctl.yaml: unknown pack 'previw' .did you mean 'preview'"):
        load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)


def test_schema_v2_dashboards_are_provisioned_in_the_classic_model() -> None:
    from stackctl.dashboards import load_dashboard
    from stackctl.dashboards.files import prepare_user_dashboard

    source = Path(__file__).resolve().parents[1] / "fixtures" / "dashboards" / "schema-v2.json"
    out = json.loads(prepare_user_dashboard(source))
    assert out["title"] == "Node (schema v2)" and out["uid"] == "node-v2" and "spec" not in out
    # an expanded row followed by its panel, a collapsed row holding its own
    assert [(p["title"], len(p.get("panels", []))) for p in out["panels"]] == [("Overview", 0), ("Load", 0), ("Per host", 2)]
    assert [p.title for p in load_dashboard(out).panels] == [p.title for p in load_dashboard(source).panels]
