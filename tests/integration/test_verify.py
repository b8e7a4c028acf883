"""verify, fire-alerts, notifications and test-rules against a real native stack
(Prometheus, Alertmanager, Pushgateway, Redis and the notification sink as local processes);
test-rules also inside the Prometheus image when Docker answers."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest
import requests

from helpers import isolated_env, require_binaries, require_docker, stackctl
from stackctl.config import Config, load_config
from stackctl.stack import orchestrator as stack
from stackctl.verify.rules_test import run_rule_tests

SERVICES = ("prometheus", "alertmanager", "pushgateway", "redis")
BINARIES = ("prometheus", "promtool", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")


def _start(tmp_path: Path, **extra: str) -> tuple[Config, dict[str, str]]:
    require_binaries(*BINARIES)
    env = isolated_env(tmp_path, SERVICES, STACKCTL_RUNTIME="native", **extra)
    cfg = load_config(env=env, cwd=tmp_path)
    try:
        stack.up(cfg)
    except BaseException:
        stack.down(cfg, volumes=True)
        raise
    return cfg, env


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, dict[str, str]]]:
    """One unseeded stack shared by the dashboard-failure and routing tests."""
    cfg, env = _start(tmp_path_factory.mktemp("verify"))
    try:
        yield cfg, env
    finally:
        stack.down(cfg, volumes=True)


def _dashboard(title: str, panel: str, expr: str) -> str:
    return json.dumps({"title": title, "time": {"from": "now-1h", "to": "now"}, "panels": [
        {"type": "row", "title": "Row", "collapsed": True, "panels": [
            {"type": "timeseries", "title": panel, "datasource": {"type": "prometheus", "uid": "prometheus"},
             "targets": [{"refId": "A", "expr": expr}]}]},
        {"type": "timeseries", "title": "Self-scrape", "targets": [{"refId": "A", "expr": "up"}]},
    ]})


def _wait_for_first_scrape(cfg: Config, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(f"{cfg.url('prometheus')}/api/v1/query", params={"query": "up"}, timeout=5).json()["data"]["result"]:
            return
        time.sleep(0.5)
    pytest.fail(f"Prometheus scraped nothing within {timeout:.0f}s")


@pytest.mark.native
def test_verify_names_empty_and_unparsable_panels(live: tuple[Config, dict[str, str]], tmp_path: Path) -> None:
    cfg, env = live
    _wait_for_first_scrape(cfg)
    extra = tmp_path / "mine"
    extra.mkdir()
    (extra / "typo.json").write_text(_dashboard("Typo Board", "Request rate", "sum(rate(http_requets_total[5m]))"))
    (extra / "broken.json").write_text(_dashboard("Broken Board", "Error ratio", "sum(rate(http_errors_total[5m]) /"))
    junit = tmp_path / "verify.xml"
    result = stackctl("verify", "--dashboards", str(extra), "--junit", str(junit), "--json", env=env)
    assert result.returncode == 1, result.stderr
    panels = {(r["dashboard"], r["panel"]): r for r in json.loads(result.stdout)["results"] if r["kind"] == "panel"}
    typo, broken = panels[("Typo Board", "Request rate")], panels[("Broken Board", "Error ratio")]
    assert typo["status"] == "empty" and typo["query"] == "sum(rate(http_requets_total[5m]))"
    assert broken["status"] == "error" and "parse error" in broken["detail"]
    assert panels[("Typo Board", "Self-scrape")]["status"] == "populated"
    assert "empty: Typo Board / Request rate: sum(rate(http_requets_total[5m]))" in result.stderr
    assert "error: Broken Board / Error ratio: sum(rate(http_errors_total[5m]) /" in " ".join(result.stderr.split())
    metrics = {r["panel"]: r for r in json.loads(result.stdout)["results"] if r["kind"] == "metric"}
    assert metrics["http_requets_total"]["status"] == "empty" and "Typo Board / Request rate" in metrics["http_requets_total"]["detail"]
    suite = ET.parse(junit).getroot().find("testsuite[@name='dashboard: Typo Board']")
    assert suite is not None and suite.find("testcase[@name='Request rate']/failure") is not None


def _sink(cfg: Config) -> list[str]:
    text = requests.get(f"{cfg.url('notify-sink')}/cgi-bin/notify", timeout=5).text
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.native
def test_fire_alerts_dry_run_sends_nothing(live: tuple[Config, dict[str, str]]) -> None:
    cfg, env = live
    before = _sink(cfg)
    result = stackctl("fire-alerts", "--dry-run", "--json", env=env)
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)[0]["labels"]["stackctl_run"]
    active = requests.get(f"{cfg.url('alertmanager')}/api/v2/alerts", timeout=5).json()
    assert not [a for a in active if a["labels"].get("stackctl_run") == run_id]
    assert _sink(cfg) == before


@pytest.mark.native
def test_fire_alerts_reach_the_receiver_of_each_severity(live: tuple[Config, dict[str, str]]) -> None:
    cfg, env = live
    result = stackctl("fire-alerts", "--json", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    reached = {d["labels"].get("severity"): d["reached"] for d in json.loads(result.stdout)}
    assert reached == {"page": ["local-page"], "critical": ["local-page"], "warn": ["local-warning"],
                       "warning": ["local-warning"], None: ["local-default"]}
    shown = json.loads(stackctl("notifications", "--json", env=env).stdout)
    synthetic = {(n["severity"], n["receiver"]) for n in shown if n["labels"].get("stackctl_synthetic") == "true"}
    assert {("page", "local-page"), ("critical", "local-page"), ("warn", "local-warning"), ("warning", "local-warning")} <= synthetic
    alerts = json.loads(stackctl("alerts", "--json", env=env).stdout)
    assert any(a["source"] == "alertmanager" and a["alertname"] == "StackctlSyntheticAlert" for a in alerts)


@pytest.mark.native
def test_test_rules_passes_on_the_shipped_suites(live: tuple[Config, dict[str, str]]) -> None:
    _, env = live
    result = stackctl("test-rules", env=env)
    assert result.returncode == 0, result.stderr
    assert "SUCCESS" in result.stdout and "FAILED" not in result.stdout  # the report: stdout


@pytest.mark.docker
def test_test_rules_in_the_prometheus_image(tmp_path: Path) -> None:
    require_docker()
    cfg = load_config(env=isolated_env(tmp_path, SERVICES), cwd=tmp_path)
    run = run_rule_tests(cfg, force_docker=True)
    assert run.ok and run.how == f"docker {cfg.images['prometheus']}", run.output
    assert run.output.count("SUCCESS") == len(run.suites)


def _scenarios() -> list[str]:
    from stackctl.seeding.catalog import list_scenarios, load_scenario

    alerting = [n for n in list_scenarios() if load_scenario(n).expected_alerts]
    return ["all-healthy", *alerting]


@pytest.mark.native
@pytest.mark.parametrize("name", _scenarios())
def test_verify_passes_on_a_seeded_scenario(name: str, tmp_path: Path) -> None:
    from stackctl.seeding.catalog import load_scenario
    from stackctl.seeding.engine import seed
    from stackctl.seeding.restore_hook import alert_state_hook
    from stackctl.seeding.targets import resolve_targets

    scenario = load_scenario(name)
    # The stack loads the scenario's packs only: their dashboards are the ones it feeds.
    cfg, env = _start(tmp_path, STACKCTL_PACKS=",".join(scenario.packs))
    try:
        targets = resolve_targets(cfg)
        # As `stackctl seed` does: alerts the history implies are firing (or pending) at once.
        seed(scenario, targets, timedelta(seconds=scenario.history), duration=0, random_seed=7,
             after_history=alert_state_hook(cfg, targets, scenario.history, lambda _m: None))
        result = stackctl("verify", "--scenario", name, "--json", env=env, timeout=240)
        report = json.loads(result.stdout or "{}")
        failed = [r for r in report.get("results", []) if r["status"] in ("empty", "error")]
        assert result.returncode == 0 and not failed, failed or result.stderr
        alerts = {r["panel"]: r["status"] for r in report["results"] if r["kind"] == "alert"}
        assert all(s == "ok" for s in alerts.values()) and alerts
    finally:
        stack.down(cfg, volumes=True)
