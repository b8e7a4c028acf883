"""The packs registry and the static checks of every pack asset (no binaries needed).

The real tools (promtool, amtool, a running Prometheus) check the same files in
tests/integration/test_packs_tools.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from stackctl.assets import asset_path
from stackctl.errors import UsageError
from stackctl.dashboards import Resolver, load_dashboard
from stackctl.packs import PACKS, Pack, get_pack, pack_names, select_packs

SEVERITIES = {"page", "critical", "warn", "warning"}
NOTIFY_SINK = "http://notify-sink:9097/cgi-bin/notify"


def load_yaml(*parts: str) -> Any:
    return yaml.safe_load(asset_path(*parts).read_text(encoding="utf-8"))


def alert_rules(pack: Pack) -> list[dict[str, Any]]:
    doc = yaml.safe_load(pack.rule_path().read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def dashboards(pack: Pack) -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in pack.dashboard_paths()]


def all_dashboards() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{pack.name}/{d['uid']}", d) for pack in PACKS for d in dashboards(pack)]


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' nested panels included; rows themselves too."""
    out: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        out += [panel, *panel.get("panels", [])]
    return out


def datasource_uids() -> set[str]:
    return {ds["uid"] for ds in load_yaml("grafana", "provisioning", "datasources", "datasources.yml")["datasources"]}


# --- registry -------------------------------------------------------------------------------


def test_registry_names_are_unique_and_ordered_by_seed() -> None:
    assert pack_names() == ("preview", "media-clustering", "ik-engine", "luneo", "http-service")
    assert [p.seed for p in PACKS] == ["000", "001", "002", "003", "004"]


def test_get_pack_and_did_you_mean() -> None:
    assert get_pack("luneo").seed == "003"
    with pytest.raises(UsageError) as info:
        get_pack("media-clusterin")
    assert "did you mean 'media-clustering'" in info.value.message


def test_select_packs_defaults_to_all_and_keeps_registry_order() -> None:
    assert select_packs(None) == PACKS
    assert [p.name for p in select_packs(["luneo", "preview"])] == ["preview", "luneo"]
    with pytest.raises(UsageError):
        select_packs(["nope"])


def test_packs_are_frozen() -> None:
    with pytest.raises(AttributeError):
        PACKS[0].name = "x"  # type: ignore[misc]


def test_cli_lists_packs_as_json() -> None:
    from stackctl.cli.app import app

    result = CliRunner().invoke(app, ["packs", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == list(pack_names())
    assert rows[4]["dashboards"] == ["http-service-api", "http-service-business", "http-service-database", "http-service-overview"]


# --- rules ----------------------------------------------------------------------------------

REQUIRED_ALERTS = {
    "preview": {"PreviewGenerationHighFailureRate", "PreviewGenerationSlow", "PreviewQueueStalled", "FinancePrivacyDenialsSpike"},
    "ik-engine": {"APIReadyHighLatency95p", "IkEngineHigh5xx", "IkEngineHighLatency", "IkEngineImageBacklog"},
    "luneo": {"QueueWaitTimeHigh", "ErrorRateHigh", "CostSpikeDetected"},
    "http-service": {"HighErrorRate", "CriticalErrorRate", "HighLatency"},
}


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_registry_alerts_match_rule_file(pack: Pack) -> None:
    assert tuple(rule["alert"] for rule in alert_rules(pack)) == pack.alerts
    assert REQUIRED_ALERTS.get(pack.name, set()) <= set(pack.alerts)


def test_preview_recording_rule_exists() -> None:
    rules = load_yaml("prometheus", "rules", "preview.yml")["groups"][0]["rules"]
    assert rules[0]["record"] == "preview_generation_job_duration_ms:p95"


def test_ik_engine_leaves_out_probe_success() -> None:
    assert "probe_success" not in "".join(rule["expr"] for rule in alert_rules(get_pack("ik-engine")))


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_every_alert_has_severity_pack_and_cites_its_seed(pack: Pack) -> None:
    for rule in alert_rules(pack):
        labels, notes = rule["labels"], rule["annotations"]
        assert labels["severity"] in SEVERITIES, rule["alert"]
        assert labels["pack"] == pack.name, rule["alert"]
        assert notes["summary"] and f"seed {pack.seed}" in notes["description"], rule["alert"]


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_alertgroups_pair_one_warning_with_one_critical(pack: Pack) -> None:
    groups: dict[str, list[str]] = {}
    for rule in alert_rules(pack):
        if "alertgroup" in rule["labels"]:
            groups.setdefault(rule["labels"]["alertgroup"], []).append(rule["labels"]["severity"])
    for name, severities in groups.items():
        assert sorted(severities) == ["critical", "warning"], name


def test_media_clustering_thresholds_are_the_seeds() -> None:
    exprs = {rule["alert"]: rule["expr"] for rule in alert_rules(get_pack("media-clustering"))}
    expected = {
        "ClusterJobFailuresWarning": "* 60 > 1", "ClusterJobFailuresCritical": "* 60 > 3",
        "ClusterJobLatencyWarning": "> 5", "ClusterJobLatencyCritical": "> 8",
        "ClusterNoiseCountHigh": "> 30",
        "MediaClusterPendingJobsWarning": "> 100", "MediaClusterPendingJobsCritical": "> 250",
        "MediaClusterStreamLagWarning": "> 10", "MediaClusterStreamLagCritical": "> 30",
    }
    for alert, tail in expected.items():
        assert exprs[alert].strip().endswith(tail), alert


def promtool_cases(pack: Pack) -> list[tuple[str, bool]]:
    """``(alertname, fires)`` for every alert_rule_test of the pack's promtool test file."""
    doc = yaml.safe_load(pack.test_path().read_text(encoding="utf-8"))
    return [(case["alertname"], bool(case.get("exp_alerts"))) for test in doc["tests"] for case in test.get("alert_rule_test", [])]


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_every_alert_has_a_firing_and_a_silent_promtool_case(pack: Pack) -> None:
    doc = yaml.safe_load(pack.test_path().read_text(encoding="utf-8"))
    assert doc["rule_files"] == [f"../{pack.rule_file}"]
    cases = set(promtool_cases(pack))
    for alert in pack.alerts:
        assert (alert, True) in cases, f"{alert}: no case where it fires"
        assert (alert, False) in cases, f"{alert}: no case where it stays silent"


# --- dashboards -----------------------------------------------------------------------------


def test_committed_dashboards_equal_a_fresh_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("grafana_generate", asset_path("grafana", "generate.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve string annotations through sys.modules.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    generated = module.build_all()
    committed = {p.relative_to(asset_path("grafana", "dashboards")) for p in asset_path("grafana", "dashboards").rglob("*.json")}
    assert committed == set(generated), "dashboard files differ from the generator's; run python grafana/generate.py"
    for rel, text in generated.items():
        assert asset_path("grafana", "dashboards", str(rel)).read_text(encoding="utf-8") == text, f"{rel} is stale"


@pytest.mark.parametrize(("name", "dashboard"), all_dashboards(), ids=[n for n, _ in all_dashboards()])
def test_dashboard_is_plain_provisionable_json(name: str, dashboard: dict[str, Any]) -> None:
    text = json.dumps(dashboard)
    assert "__inputs" not in dashboard and "${DS_" not in text
    assert dashboard["uid"].startswith("stackctl-") and dashboard["title"]
    assert dashboard["time"]["from"] == "now-1h"
    assert 36 <= dashboard["schemaVersion"] <= 41
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(panel title, datasource uid, expr)`` of every visible target and annotation query,
    read through the one dashboard model (the one verify uses)."""
    d = load_dashboard(dashboard)
    out = [(f"annotation {a.name}", a.datasource.uid or "", a.expr) for a in d.annotations if not a.builtin]
    out += [(p.title, t.datasource.uid or "", t.expr) for p, t in d.targets() if not t.hidden]
    return out


def resolve_variables(expr: str, dashboard: dict[str, Any]) -> str:
    """``expr`` as Grafana sends it with the saved variable values (no live Prometheus)."""
    return Resolver(load_dashboard(dashboard), now=1_700_000_000.0).interpolate(expr)[0]


@pytest.mark.parametrize(("name", "dashboard"), all_dashboards(), ids=[n for n, _ in all_dashboards()])
def test_every_panel_and_target_names_a_provisioned_datasource(name: str, dashboard: dict[str, Any]) -> None:
    known = datasource_uids()
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in known, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]
    for title, uid, expr in dashboard_queries(dashboard):
        assert uid in known and expr, title


@pytest.mark.parametrize(("name", "dashboard"), all_dashboards(), ids=[n for n, _ in all_dashboards()])
def test_variables_have_defaults_and_resolve(name: str, dashboard: dict[str, Any]) -> None:
    for var in dashboard["templating"]["list"]:
        assert var.get("current", {}).get("value") not in (None, "", []), var["name"]
    for title, _, expr in dashboard_queries(dashboard):
        assert "$" not in resolve_variables(expr, dashboard), title


@pytest.mark.parametrize(("name", "dashboard"), all_dashboards(), ids=[n for n, _ in all_dashboards()])
def test_rate_windows_fit_thirty_minutes_of_history(name: str, dashboard: dict[str, Any]) -> None:
    minutes = {"1m": 1, "2m": 2, "5m": 5, "10m": 10, "15m": 15}
    for title, uid, expr in dashboard_queries(dashboard):
        if uid != "prometheus":
            continue
        for window in re.findall(r"rate\([^\[]*\[([^\]]+)\]", expr):
            assert window in minutes or window.startswith("$"), f"{title}: rate window {window}"


def test_required_dashboard_titles_and_rows() -> None:
    titles = {d["uid"]: d["title"] for _, d in all_dashboards()}
    assert titles["stackctl-preview"] == "Phase 2B Preview"
    assert titles["stackctl-media-clustering"] == "Media Clustering – Pipeline Health"
    http = sorted(titles[uid] for uid in titles if uid.startswith("stackctl-http-service-"))
    assert [t.split(" – ")[1] for t in http] == ["API Performance", "Business Logic", "Database", "System Overview"]
    media = dashboards(get_pack("media-clustering"))[0]
    rows = [p["title"] for p in media["panels"] if p["type"] == "row"]
    assert rows[:4] == ["Outcomes Overview", "Throughput & Latency", "Feedback Activity", "Backlog"]
    assert len(dashboards(get_pack("ik-engine"))[0]["panels"]) == 5


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_logs_panels_exactly_for_packs_with_logs(pack: Pack) -> None:
    exprs = [expr for d in dashboards(pack) for _, uid, expr in dashboard_queries(d) if uid == "loki"]
    assert bool(exprs) == pack.has_logs
    for expr in exprs:  # the registry's selector is what seeding labels its streams with
        assert expr.startswith(pack.log_selector[:-1]), expr


# --- provisioning, Alertmanager, Loki ------------------------------------------------------


def test_datasources_have_fixed_uids_and_are_not_editable() -> None:
    doc = load_yaml("grafana", "provisioning", "datasources", "datasources.yml")
    assert doc["apiVersion"] == 1
    by_uid = {ds["uid"]: ds for ds in doc["datasources"]}
    assert set(by_uid) == {"prometheus", "loki", "alertmanager"}
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090" and by_uid["prometheus"]["isDefault"] is True
    assert by_uid["loki"]["url"] == "http://loki:3100"
    assert by_uid["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    assert all(ds["editable"] is False for ds in doc["datasources"])
    assert sum(bool(ds.get("isDefault")) for ds in doc["datasources"]) == 1


def test_one_dashboard_provider_and_folder_per_pack() -> None:
    doc = load_yaml("grafana", "provisioning", "dashboards", "packs.yml")
    providers = {p["options"]["path"].rsplit("/", 1)[1]: p for p in doc["providers"]}
    assert set(providers) == {pack.dashboards_dir for pack in PACKS}
    for pack in PACKS:
        provider = providers[pack.dashboards_dir]
        assert provider["type"] == "file" and provider["folder"] == pack.title
        assert provider["options"]["path"] == f"/var/lib/grafana/dashboards/{pack.dashboards_dir}"
    dashboard_uids = {d["uid"] for _, d in all_dashboards()}
    assert not dashboard_uids & {p["folderUid"] for p in doc["providers"]}, "folders and dashboards share one UID space"


def test_alertmanager_routes_to_the_local_sink() -> None:
    doc = load_yaml("alertmanager", "alertmanager.yml")
    assert doc["route"]["group_by"] == ["alertname", "pack"]
    receivers = {r["name"]: r for r in doc["receivers"]}
    assert set(receivers) == {"local-default", "local-page", "local-warning"}
    for receiver in receivers.values():
        assert receiver["webhook_configs"] == [{"url": NOTIFY_SINK, "send_resolved": True}]
    rule = doc["inhibit_rules"][0]
    assert rule["equal"] == ["pack", "alertgroup"] and 'alertgroup=~".+"' in rule["target_matchers"]


def test_external_receivers_read_secrets_from_files() -> None:
    doc = load_yaml("alertmanager", "external-receivers.yml")
    receivers = {r["name"]: r for r in doc["receivers"]}
    assert receivers["slack"]["slack_configs"][0]["api_url_file"] == "/etc/alertmanager/secrets/slack_webhook_url"
    assert receivers["slack"]["slack_configs"][0]["channel"] == "#sploot-media-alerts"
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key_file"] == "/etc/alertmanager/secrets/pagerduty_routing_key"
    assert all(route["continue"] is True and route["receiver"] in receivers for route in doc["routes"])


def test_loki_config_accepts_recent_history() -> None:
    doc = load_yaml("loki", "loki.yml")
    assert doc["auth_enabled"] is False and doc["server"]["http_listen_port"] == 3100
    assert doc["common"]["path_prefix"] == "/loki"
    assert doc["common"]["storage"]["filesystem"]["chunks_directory"].startswith("/loki/")
    schema = doc["schema_config"]["configs"][-1]
    assert (schema["store"], schema["schema"], schema["object_store"]) == ("tsdb", "v13", "filesystem")
    limits = doc["limits_config"]
    assert limits["reject_old_samples"] is True and limits["reject_old_samples_max_age"] == "168h"
    assert limits["unordered_writes"] is True and limits["allow_structured_metadata"] is True
    assert limits["ingestion_rate_mb"] >= 16
    assert doc["analytics"]["reporting_enabled"] is False
