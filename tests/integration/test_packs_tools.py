"""The packs checked by the real tools: promtool, amtool and a running Prometheus.

Skips when a tool is missing; under CI=true a missing tool fails instead, so CI cannot go
green by skipping. Every Prometheus this module starts listens on a free 127.0.0.1 port with
its storage in tmp_path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from stackctl.assets import asset_path
from stackctl.config import load_config
from stackctl.dashboards import Resolver, load_dashboard
from stackctl.packs import PACKS, Pack
from stackctl.render.configs import render
from stackctl.testing.stack import TestStack

pytestmark = pytest.mark.native

READY_TIMEOUT_S = 30.0


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not on PATH (Debian: apt-get install prometheus prometheus-alertmanager)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


def run_tool(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool; the assertion message carries its whole output."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
    assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


# --- promtool -------------------------------------------------------------------------------


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_promtool_check_rules(pack: Pack) -> None:
    run_tool([require_tool("promtool"), "check", "rules", str(pack.rule_path())])


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.name)
def test_promtool_test_rules(pack: Pack) -> None:
    # From another directory: rule_files are relative to the test file, not the cwd.
    run_tool([require_tool("promtool"), "test", "rules", str(pack.test_path())], cwd=Path("/"))


def write_prometheus_config(directory: Path) -> Path:
    config = {
        "global": {"scrape_interval": "15s", "evaluation_interval": "5s"},
        "rule_files": [str(pack.rule_path()) for pack in PACKS],
    }
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_promtool_check_config_loads_every_rule_file(tmp_path: Path) -> None:
    result = run_tool([require_tool("promtool"), "check", "config", str(write_prometheus_config(tmp_path))])
    for pack in PACKS:
        assert str(pack.rule_path()) in result.stdout


# --- amtool ---------------------------------------------------------------------------------


@pytest.fixture()
def merged_alertmanager(tmp_path: Path) -> Path:
    """The alertmanager.yml stackctl really renders when the Slack/PagerDuty secrets are set."""
    env = {"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state"),
           "SLACK_WEBHOOK_URL": "https://hooks.example/x", "PAGERDUTY_ROUTING_KEY": "k" * 32}
    cfg = load_config(env=env, cwd=tmp_path)
    render(cfg, "native")
    return cfg.state_dir / "rendered" / "alertmanager" / "alertmanager.yml"


def routes_for(config: Path, *labels: str) -> str:
    argv = [require_tool("amtool"), "config", "routes", "test", f"--config.file={config}", *labels]
    return run_tool(argv).stdout.strip()


def test_amtool_check_config() -> None:
    run_tool([require_tool("amtool"), "check-config", str(asset_path("alertmanager", "alertmanager.yml"))])


def test_amtool_check_config_merged_with_external_receivers(merged_alertmanager: Path) -> None:
    run_tool([require_tool("amtool"), "check-config", str(merged_alertmanager)])


@pytest.mark.parametrize(
    ("severity", "receiver"),
    [("page", "local-page"), ("critical", "local-page"), ("warn", "local-warning"), ("warning", "local-warning"), ("info", "local-default")],
)
def test_severity_routes(severity: str, receiver: str) -> None:
    assert routes_for(asset_path("alertmanager", "alertmanager.yml"), f"severity={severity}", "pack=luneo") == receiver


def test_merged_routes_keep_the_local_sink(merged_alertmanager: Path) -> None:
    assert routes_for(merged_alertmanager, "severity=critical") == "pagerduty,slack,local-page"
    assert routes_for(merged_alertmanager, "severity=warn") == "slack,local-warning"


# --- a real Prometheus ----------------------------------------------------------------------


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stack's own Prometheus (native runtime, every pack's rules), via the project's fixture core."""
    require_tool("prometheus")
    with TestStack.start(tmp_path_factory.mktemp("packs"), runtime="native", services=["prometheus"]) as stack:
        yield stack.url("prometheus")


def instant_query(base: str, expr: str) -> dict[str, Any]:
    status, body = http_get(f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    return {"http": status, **json.loads(body)}


def prometheus_queries() -> list[tuple[str, str, dict[str, Any]]]:
    """Every visible Prometheus target and annotation query, read through the dashboard model."""
    out = []
    for pack in PACKS:
        for path in pack.dashboard_paths():
            dashboard = json.loads(path.read_text(encoding="utf-8"))
            d = load_dashboard(dashboard)
            exprs = [(f"annotation {a.name}", a.expr) for a in d.annotations if a.datasource.type == "prometheus" and a.expr]
            exprs += [(p.title, t.expr) for p, t in d.targets() if t.kind == "prometheus" and not t.hidden]
            out += [(f"{path.stem}: {title}", expr, dashboard) for title, expr in exprs]
    return out


def resolve_variables(expr: str, dashboard: dict[str, Any]) -> str:
    return Resolver(load_dashboard(dashboard)).interpolate(expr)[0]


QUERIES = prometheus_queries()


@pytest.mark.parametrize(("panel", "expr", "dashboard"), QUERIES, ids=[q[0] for q in QUERIES])
def test_panel_promql_is_accepted_by_prometheus(prometheus_url: str, panel: str, expr: str, dashboard: dict[str, Any]) -> None:
    query = resolve_variables(expr, dashboard)
    answer = instant_query(prometheus_url, query)
    assert answer["status"] == "success", f"{panel}: {query}\n{answer.get('errorType')}: {answer.get('error')}"


def test_prometheus_loads_every_pack_rule_group(prometheus_url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    groups: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        groups = json.loads(http_get(f"{prometheus_url}/api/v1/rules")[1])["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules):
            break
        time.sleep(0.5)
    assert sorted(group["name"] for group in groups) == sorted(pack.name for pack in PACKS)
    unhealthy = [(rule["name"], rule.get("lastError")) for group in groups for rule in group["rules"] if rule["health"] != "ok"]
    assert not unhealthy
