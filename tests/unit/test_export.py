"""``stackctl export kubernetes``: the chart's field names and conventions, no secret, dashboards unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.config import Config, load_config
from stackctl.errors import ConfigError, UsageError
from stackctl.export import chart
from stackctl.export.dashboards import rewrite_uids
from stackctl.export.kubernetes import (
    ExportOptions,
    build_export,
    export_kubernetes,
    render_files,
)
from stackctl.export.output import MANIFEST
from stackctl.export.secrets import SecretPlan, externalize
from stackctl.packs import PACKS
from stackctl.render.configs import render
from tests.export_repo import INLINE_SENTINELS, SENTINELS, leaked, make_user_repo

# the PrometheusRule CRD's duration pattern (monitoring.coreos.com_prometheusrules.yaml)
DURATION = re.compile(r"(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
CONFIGMAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def _cfg(tmp_path: Path, config: Path | None = None, **env: str) -> Config:
    base = {"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state"), **env}
    return load_config(str(config) if config else None, env=base, cwd=config.parent if config else tmp_path)


@pytest.fixture
def user_cfg(tmp_path: Path) -> Config:
    return _cfg(tmp_path, make_user_repo(tmp_path / "repo"), **SENTINELS)


def _export_dir(tmp_path: Path, cfg: Config, **opts: Any) -> Path:
    out = tmp_path / "out"
    export_kubernetes(cfg, ExportOptions(**{"release": "obs", "namespace": "observability", **opts}), out)
    return out


def _docs(out: Path, folder: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((out / folder).glob("*.yaml"))]


def _every_file_parses(out: Path) -> None:
    for path in out.rglob("*"):
        if path.suffix == ".yaml":
            assert yaml.safe_load(path.read_text()) is not None, path
        elif path.suffix == ".json":
            json.loads(path.read_text())
    for cm in _docs(out, "dashboards"):
        for text in cm["data"].values():
            json.loads(text)


def _check_conventions(out: Path, cfg: Config, release: str = "obs", namespace: str = "observability") -> None:
    """Labels, names and keys as the chart and the operator's CRDs define them."""
    values = yaml.safe_load((out / "values.yaml").read_text())
    rules = values["additionalPrometheusRulesMap"]
    crds = _docs(out, "prometheusrules")
    assert len(crds) == len(rules)
    for crd in crds:
        assert crd["apiVersion"] == "monitoring.coreos.com/v1" and crd["kind"] == "PrometheusRule"
        assert crd["metadata"]["labels"]["release"] == release  # the chart's ruleSelector (ruleSelectorNilUsesHelmValues)
        assert crd["metadata"]["namespace"] == namespace
        assert DNS_SUBDOMAIN.fullmatch(crd["metadata"]["name"]) and len(crd["metadata"]["name"]) <= 63
        assert set(crd["spec"]) == {"groups"}
        _check_crd_types(crd["spec"]["groups"])
        key = crd["metadata"]["name"].removeprefix("stackctl-")
        assert crd["spec"]["groups"] == rules[key]["groups"]  # the same rules in both forms
    for key, entry in rules.items():
        assert DNS_SUBDOMAIN.fullmatch(f"kube-prometheus-stack-{key}") and set(entry) == {"groups"}
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["enableRemoteWriteReceiver"] is True
    assert spec["tsdb"] == {"outOfOrderTimeWindow": "24h"}
    am = values["alertmanager"]
    assert am["tplConfig"] is False and set(am["config"]) >= {"route", "receivers"}
    sidecar = values["grafana"]["sidecar"]
    assert sidecar["dashboards"]["label"] == "grafana_dashboard" and sidecar["dashboards"]["labelValue"] == "1"
    assert sidecar["dashboards"]["folderAnnotation"] == "grafana_folder"
    assert sidecar["dashboards"]["provider"]["foldersFromFilesStructure"] is True
    assert sidecar["datasources"]["uid"] == "prometheus" and sidecar["datasources"]["alertmanager"]["uid"] == "alertmanager"
    for cm in _docs(out, "dashboards"):
        assert cm["apiVersion"] == "v1" and cm["kind"] == "ConfigMap"
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["annotations"]["grafana_folder"]
        assert DNS_SUBDOMAIN.fullmatch(cm["metadata"]["name"]) and cm["metadata"]["namespace"] == namespace
        [(key, text)] = cm["data"].items()
        assert CONFIGMAP_KEY.fullmatch(key) and key == f"{json.loads(text)['uid']}.json"


def _check_crd_types(groups: list[dict[str, Any]]) -> None:
    """What the CRD's schema types: names unique (list-map key), labels/annotations strings, durations."""
    names = [g["name"] for g in groups]
    assert len(names) == len(set(names)) and all(names)
    for group in groups:
        for key in ("interval", "query_offset"):
            assert key not in group or DURATION.fullmatch(group[key])
        for rule in group["rules"]:
            assert "expr" in rule and ("alert" in rule) != ("record" in rule)
            for key in ("labels", "annotations"):
                assert all(isinstance(v, str) for v in rule.get(key, {}).values()), rule
            for key in ("for", "keep_firing_for"):
                assert key not in rule or (isinstance(rule[key], str) and DURATION.fullmatch(rule[key])), rule


def _check_dashboards_as_provisioned(out: Path, cfg: Config) -> None:
    """Byte for byte the files `stackctl up` provisions (the chart's uids equal the local ones)."""
    root = render(cfg, "docker").root / "grafana" / "dashboards"
    provisioned = {p.read_bytes() for p in root.rglob("*.json")}
    exported = {next(iter(cm["data"].values())).encode() for cm in _docs(out, "dashboards")}
    assert exported == provisioned


def test_every_pack_exports(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    out = _export_dir(tmp_path, cfg)
    _every_file_parses(out)
    _check_conventions(out, cfg)
    _check_dashboards_as_provisioned(out, cfg)
    values = yaml.safe_load((out / "values.yaml").read_text())
    assert set(values["additionalPrometheusRulesMap"]) == {p.name for p in PACKS}
    folders = {cm["metadata"]["annotations"]["grafana_folder"] for cm in _docs(out, "dashboards")}
    assert folders == {p.title for p in PACKS}
    assert "additionalScrapeConfigs" not in values["prometheus"]["prometheusSpec"]


@pytest.mark.parametrize("pack", [p.name for p in PACKS])
def test_one_pack_exports_only_itself(tmp_path: Path, pack: str) -> None:
    cfg = _cfg(tmp_path, STACKCTL_PACKS=pack)
    out = _export_dir(tmp_path, cfg)
    _every_file_parses(out)
    _check_conventions(out, cfg)
    _check_dashboards_as_provisioned(out, cfg)
    values = yaml.safe_load((out / "values.yaml").read_text())
    assert list(values["additionalPrometheusRulesMap"]) == [pack]


def test_user_repo_exports_rules_dashboards_routes_and_targets(tmp_path: Path, user_cfg: Config) -> None:
    out = _export_dir(tmp_path, user_cfg)
    _every_file_parses(out)
    _check_conventions(out, user_cfg)
    _check_dashboards_as_provisioned(out, user_cfg)
    values = yaml.safe_load((out / "values.yaml").read_text())
    assert set(values["additionalPrometheusRulesMap"]) == {"media-clustering", "http-service", "user-api-rules", "user-slo", "user-alerts"}
    jobs = {j["job_name"]: j for j in values["prometheus"]["prometheusSpec"]["additionalScrapeConfigs"]}
    assert jobs["shop-api"]["static_configs"] == [{"targets": ["localhost:8000"], "labels": {"team": "shop"}}]
    slo = values["additionalPrometheusRulesMap"]["user-slo"]["groups"][0]["rules"][0]
    assert slo["labels"]["priority"] == "2" and slo["labels"]["page"] == "false" and slo["annotations"]["threshold"] == "1.5"
    assert slo["keep_firing_for"] == "0"
    assert jobs["app-shop-worker.shop.svc-9100"]["metrics_path"] == "/internal/metrics"
    assert jobs["app-shop-worker.shop.svc-9100"]["scrape_interval"] == "30s"
    config = values["alertmanager"]["config"]
    names = [r["name"] for r in config["receivers"]]
    assert {"shop-oncall", "shop-bot", "shop-genie", "slack", "pagerduty", "local-default"} <= set(names)
    assert config["route"]["routes"][0]["receiver"] == "shop-oncall"  # the user's routes come first, as locally
    cms = {cm["metadata"]["name"]: cm for cm in _docs(out, "dashboards")}
    shop = cms["dashboard-shop-overview"]
    assert shop["metadata"]["annotations"]["grafana_folder"] == "Shop Team"
    assert "${DS_PROMETHEUS}" not in shop["data"]["shop-overview.json"]  # resolved as locally


def test_no_secret_in_any_output(tmp_path: Path, user_cfg: Config) -> None:
    out = _export_dir(tmp_path, user_cfg)
    assert leaked(out) == []
    values = yaml.safe_load((out / "values.yaml").read_text())
    secret = "obs-alertmanager-receivers"
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == [secret]
    receivers = {r["name"]: r for r in values["alertmanager"]["config"]["receivers"]}
    mount = f"/etc/alertmanager/secrets/{secret}/"
    assert receivers["slack"]["slack_configs"][0]["api_url_file"] == mount + "slack_webhook_url"
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key_file"] == mount + "pagerduty_routing_key"
    oncall = receivers["shop-oncall"]["slack_configs"][0]
    assert "api_url" not in oncall and oncall["api_url_file"].startswith(mount)
    assert receivers["shop-bot"]["webhook_configs"][0]["http_config"]["basic_auth"]["password_file"].startswith(mount)
    assert receivers["shop-genie"]["opsgenie_configs"][0]["api_key_file"].startswith(mount)
    readme = (out / "README.md").read_text()
    assert f"create secret generic {secret}" in readme
    for key in ("slack_webhook_url", "pagerduty_routing_key", "shop-oncall-slack-0-api_url"):
        assert key in readme
    assert '--from-literal=slack_webhook_url="$SLACK_WEBHOOK_URL"' in readme


def test_sink_left_out_and_said_so(tmp_path: Path) -> None:
    out = _export_dir(tmp_path, _cfg(tmp_path))
    text = (out / "values.yaml").read_text()
    assert "notify-sink" not in text
    readme = (out / "README.md").read_text()
    for what in ("notification sink", "seeding", "Redis"):
        assert what in readme
    assert "helm upgrade --install obs prometheus-community/kube-prometheus-stack" in readme and "-f values.yaml" in readme
    assert f"--version {chart.CHART_VERSION}" in readme
    assert "kubectl apply --server-side -n observability -f dashboards/" in readme


def test_helm_merge_gives_exactly_the_rendered_alertmanager_config(tmp_path: Path, user_cfg: Config) -> None:
    export = build_export(user_cfg, ExportOptions("obs"))
    overlay = export.values["alertmanager"]["config"]
    assert chart.helm_merge(chart.CHART_ALERTMANAGER_DEFAULTS, overlay) == export.alertmanager
    assert "templates" not in export.alertmanager and "global" not in export.alertmanager


def test_loki_url_adds_the_datasource_and_quiets_the_note(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    assert any("loki" in n for n in build_export(cfg, ExportOptions("obs")).notes)
    export = build_export(cfg, ExportOptions("obs", loki_url="http://loki-gateway.logging.svc"))
    [loki] = export.values["grafana"]["additionalDataSources"]
    assert loki["uid"] == "loki" and loki["type"] == "loki" and loki["url"] == "http://loki-gateway.logging.svc"
    assert not any("datasource" in n for n in export.notes)


def test_datasources_named_the_charts_way_are_not_reported_missing(tmp_path: Path) -> None:
    folder = tmp_path / "dash"
    folder.mkdir()
    (folder / "legacy.json").write_text(json.dumps({"uid": "legacy", "title": "Legacy", "panels": [
        {"datasource": "Prometheus", "targets": []}, {"datasource": {"type": "tempo", "uid": "tempo"}, "targets": []}]}))
    config = tmp_path / "stackctl.yaml"
    config.write_text("packs: [ik-engine]\ndashboards: [dash]\n")
    notes = build_export(_cfg(tmp_path, config), ExportOptions("obs")).notes
    assert [n for n in notes if "Legacy" in n] == ["dashboard 'Legacy' (dashboard-legacy) uses datasource uid(s) tempo, which the chart does not provision"]


def test_rewrite_changes_only_datasource_uids() -> None:
    raw = PACKS[1].dashboard_paths()[0].read_bytes()
    out, reformatted = rewrite_uids(raw, {"prometheus": "prom-k8s", "loki": "logs"})
    assert not reformatted
    assert out.replace(b'"uid": "prom-k8s"', b'"uid": "prometheus"').replace(b'"uid": "logs"', b'"uid": "loki"') == raw
    assert rewrite_uids(raw, {"prometheus": "prometheus"}) == (raw, False)


def test_rewrite_keeps_variables_and_builtins() -> None:
    doc = {"panels": [{"datasource": {"type": "prometheus", "uid": "${ds}"}}, {"datasource": "-- Grafana --"},
                      {"datasource": "prometheus"}, {"datasourceUid": "prometheus"}]}
    out, reformatted = rewrite_uids(json.dumps(doc).encode(), {"prometheus": "p2", "-- Grafana --": "x"})
    assert not reformatted
    panels = json.loads(out)["panels"]
    assert panels == [{"datasource": {"type": "prometheus", "uid": "${ds}"}}, {"datasource": "-- Grafana --"},
                      {"datasource": "p2"}, {"datasourceUid": "p2"}]


def test_credentials_without_file_form_are_refused() -> None:
    config = {"receivers": [{"name": "mail", "email_configs": [{"to": "a@b", "auth_secret": "s3cret"}]}]}
    with pytest.raises(ConfigError, match="no \\*_file form"):
        externalize(config, SecretPlan("x"), {})


def test_secret_files_from_elsewhere_become_keys() -> None:
    plan = SecretPlan("rx")
    config = {"receivers": [{"name": "a", "pagerduty_configs": [{"service_key_file": "/home/me/pd.key"}]}],
              "global": {"slack_api_url": "https://hooks.slack.com/x"}}
    out = externalize(config, plan, {})
    assert out["receivers"][0]["pagerduty_configs"][0]["service_key_file"] == "/etc/alertmanager/secrets/rx/pd.key"
    assert out["global"] == {"slack_api_url_file": "/etc/alertmanager/secrets/rx/global-slack_api_url"}
    assert "/home/me/pd.key" in plan.keys["pd.key"].source


@pytest.mark.parametrize("release", ["Obs", "obs_1", "-obs", "a" * 54, "obs\n"])
def test_bad_release_names_are_refused(release: str) -> None:
    with pytest.raises(UsageError):
        ExportOptions(release)


def test_export_never_deletes_files_it_did_not_write(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(UsageError, match="did not write"):
        export_kubernetes(cfg, ExportOptions("obs"), out)
    (out / "mine.txt").unlink()
    export_kubernetes(cfg, ExportOptions("obs"), out)
    (out / "dashboards" / "notes.txt").write_text("mine")
    assert (out / MANIFEST).is_file()
    export_kubernetes(_cfg(tmp_path, STACKCTL_PACKS="luneo"), ExportOptions("obs"), out)
    assert sorted(p.name for p in (out / "prometheusrules").iterdir()) == ["luneo.yaml"]
    assert (out / "dashboards" / "notes.txt").read_text() == "mine"


def test_files_are_deterministic(tmp_path: Path, user_cfg: Config) -> None:
    first = render_files(build_export(user_cfg, ExportOptions("obs")))
    assert first == render_files(build_export(user_cfg, ExportOptions("obs")))
    assert all(not any(s.encode() in data for s in INLINE_SENTINELS) for data in first.values())


def test_a_whole_alertmanager_config_of_yours_replaces_the_charts(tmp_path: Path) -> None:
    (tmp_path / "am.yml").write_text("route:\n  receiver: team\nreceivers:\n  - name: team\n"
                                     "    webhook_configs: [{url: 'http://team-bot.team.svc/hook'}]\n")
    config = tmp_path / "stackctl.yaml"
    config.write_text("alertmanager:\n  config: am.yml\n")
    export = build_export(_cfg(tmp_path, config), ExportOptions("obs"))
    overlay = export.values["alertmanager"]["config"]
    assert overlay["inhibit_rules"] is None and overlay["templates"] is None and overlay["global"] is None
    assert overlay["route"]["group_by"] is None and overlay["route"]["repeat_interval"] is None
    effective = chart.helm_merge(chart.CHART_ALERTMANAGER_DEFAULTS, overlay)
    assert effective == export.alertmanager
    assert set(effective) == {"route", "receivers"} and set(effective["route"]) <= {"receiver", "routes"}
    assert "alertmanagerSpec" not in export.values["alertmanager"]  # no credential, no Secret
