"""Bring your own app: the developer's service, dashboards and rules, on both runtimes.

A real HTTP app (prometheus-client, its own registry and a Counter) runs in this process on a
free port. On native it listens on 127.0.0.1. On docker, Prometheus runs in a container and
reaches the host as host.docker.internal, which the ``host-gateway`` mapping resolves to the
docker0 bridge address (172.17.0.1 by default): a socket on 127.0.0.1 only is refused from
there (checked on this Linux host), so the app listens on exactly that bridge address, never
0.0.0.0. The app lives only as long as the test.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from helpers import STANDIN_IMAGES, isolated_env, metrics_app, poll, prom, require_binaries, require_docker, stackctl
from stackctl.byo.rules_check import check_rule_files
from stackctl.errors import ConfigError
from stackctl.state.ports import free_port, port_free

GOOD_RULES = """\
groups:
  - name: byo
    rules:
      - record: byo:requests:sum
        expr: sum(byo_test_requests_total)
      - alert: ByoAppDown
        expr: up{job="byo-app"} == 0
        for: 1m
        labels: {severity: warning}
        annotations: {summary: "the app is down"}
"""
BAD_RULES = """\
groups:
  - name: broken
    rules:
      - alert: Broken
        expr: rate(byo_test_requests_total[5m] > 1
"""


# -- the app ---------------------------------------------------------------------------------

def host_gateway_address() -> str:
    """What host.docker.internal resolves to inside a container (`host-gateway`), asked of the
    engine itself rather than assumed: dockerd may be configured with --host-gateway-ip."""
    out = subprocess.run(
        ["docker", "run", "--rm", "--pull", "never", "--network", "none", "--add-host", "byo-probe:host-gateway",
         "--entrypoint", "cat", STANDIN_IMAGES["prometheus"], "/etc/hosts"],
        capture_output=True, text=True, timeout=60,
    ).stdout
    match = re.search(r"^(\S+)\s+byo-probe$", out, re.M)
    assert match, f"host-gateway did not resolve in a container:\n{out}"
    return match.group(1)


# -- the user's repo -------------------------------------------------------------------------

def plain_dashboard() -> dict[str, Any]:
    return {"uid": "byo-plain", "title": "BYO plain", "panels": [
        {"id": 1, "type": "timeseries", "title": "requests", "datasource": {"type": "prometheus", "uid": "prometheus"},
         "targets": [{"expr": "rate(byo_test_requests_total[1m])", "refId": "A"}]}]}


def shared_export() -> dict[str, Any]:
    """What Grafana's "Export for sharing externally" writes."""
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__requires": [{"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}],
        "id": 7, "uid": "byo-shared", "title": "BYO shared",
        "panels": [
            {"id": 1, "type": "timeseries", "title": "requests", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
             "targets": [{"datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "expr": "byo_test_requests_total", "refId": "A"}]},
            {"id": 2, "type": "stat", "title": "legacy string datasource", "datasource": "${DS_PROMETHEUS}",
             "targets": [{"expr": "byo:requests:sum", "refId": "A"}]},
        ],
        "templating": {"list": [{"name": "job", "type": "query", "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "query": "label_values(up, job)"}]},
    }


def write_repo(repo: Path, targets: list[tuple[str, str]], *, rules: str = GOOD_RULES) -> Path:
    """A repo laid out like seed 003 (monitoring/...), with stackctl.yaml using relative paths."""
    dash = repo / "monitoring" / "grafana" / "dashboards" / "app"
    dash.mkdir(parents=True, exist_ok=True)
    (dash / "plain.json").write_text(json.dumps(plain_dashboard(), indent=2))
    (dash / "shared.json").write_text(json.dumps(shared_export(), indent=2))
    (repo / "monitoring" / "prometheus").mkdir(parents=True, exist_ok=True)
    (repo / "monitoring" / "prometheus" / "byo.rules.yml").write_text(rules)
    write_config(repo, targets)
    return repo


def write_config(repo: Path, targets: list[tuple[str, str]], extra: str = "") -> None:
    scrape = "".join(f"  - target: {target}\n    job: {job}\n    interval: 1s\n    labels: {{team: demo}}\n" for target, job in targets)
    (repo / "stackctl.yaml").write_text(
        f"scrape:\n{scrape}"
        "dashboards:\n  - monitoring/grafana/dashboards/app\n"
        "rules:\n  - monitoring/prometheus/byo.rules.yml\n" + extra
    )






def targets_by_job(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {t["labels"]["job"]: t for t in prom(env, "/api/v1/targets")["activeTargets"]}


def wait_target(env: dict[str, str], job: str, health: str = "up") -> dict[str, Any]:
    found = poll(f"target {job} {health}", lambda: targets_by_job(env),
                 lambda t: t.get(job, {}).get("health") == health)
    return found[job]


def query_value(env: dict[str, str], expr: str) -> float:
    result = poll(f"query {expr}", lambda: prom(env, "/api/v1/query", query=expr)["result"], bool)
    return float(result[0]["value"][1])


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def stack_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    runtime = request.param
    if runtime == "native":
        require_binaries("prometheus", "promtool")
    else:
        require_docker()
    env = isolated_env(tmp_path, ("prometheus",), STACKCTL_RUNTIME=runtime)
    (tmp_path / "repo").mkdir()
    yield env
    stackctl("down", "--volumes", env=env, cwd=tmp_path / "repo")


RUNTIMES = [pytest.param("native", marks=pytest.mark.native, id="native"),
            pytest.param("docker", marks=pytest.mark.docker, id="docker")]


# -- the whole flow, on both runtimes ---------------------------------------------------------

@pytest.mark.parametrize("stack_env", RUNTIMES, indirect=True)
def test_app_scraped_dashboards_and_rules_provisioned_reload_without_down(stack_env: dict[str, str], tmp_path: Path) -> None:
    env, repo = stack_env, tmp_path / "repo"
    runtime = env["STACKCTL_RUNTIME"]
    app_host = "127.0.0.1" if runtime == "native" else host_gateway_address()
    # the third app listens on 127.0.0.1 only: fine on native; on docker it must show as
    # refused (the documented pitfall). On native, a closed port stands in for "not running".
    with metrics_app(app_host) as (port, counter), metrics_app(app_host) as (port2, _counter2), \
            metrics_app("127.0.0.1") as (loopback_port, _counter3):
        counter.inc(3)
        # the user writes localhost either way; stackctl picks the address per runtime
        write_repo(repo, [(f"localhost:{port}", "byo-app")])
        up = stackctl("up", env=env, cwd=repo)
        assert up.returncode == 0, up.stderr

        target = wait_target(env, "byo-app")
        expected_host = "127.0.0.1" if runtime == "native" else "host.docker.internal"
        assert target["scrapeUrl"] == f"http://{expected_host}:{port}/metrics"
        assert target["labels"]["team"] == "demo"
        assert query_value(env, 'byo_test_requests_total{job="byo-app"}') == 3
        assert_rules_loaded(env)
        assert_dashboards_rendered(Path(env["STACKCTL_STATE_DIR"]))

        listed = json.loads(stackctl("targets", "--json", env=env, cwd=repo).stdout)
        mine = [t for t in listed if t["user"]]
        assert [(t["job"], t["health"], t["hint"]) for t in mine] == [("byo-app", "up", None)], listed
        assert {t["job"] for t in listed if not t["user"]} >= {"prometheus"}

        # a changed stackctl.yaml takes effect on the next `up`, no `down`: Prometheus reloads
        unreachable = loopback_port if runtime == "docker" else free_port()
        write_config(repo, [(f"localhost:{port}", "byo-app"), (f"localhost:{port2}", "byo-app-2"), (f"localhost:{unreachable}", "byo-missing")])
        again = stackctl("up", env=env, cwd=repo)
        assert again.returncode == 0, again.stderr
        wait_target(env, "byo-app-2")
        wait_target(env, "byo-missing", "down")
        missing = {t["job"]: t for t in json.loads(stackctl("targets", "--json", env=env, cwd=repo).stdout)}["byo-missing"]
        assert "connection refused" in missing["last_error"], missing
        assert ("0.0.0.0" in missing["hint"]) == (runtime == "docker"), missing["hint"]
        human = stackctl("targets", env=env, cwd=repo)
        assert human.returncode == 0 and "byo-missing" in human.stderr and "connection refused" in human.stderr


def assert_rules_loaded(env: dict[str, str]) -> None:
    groups = poll("rule group byo", lambda: prom(env, "/api/v1/rules")["groups"],
                  lambda gs: any(g["name"] == "byo" for g in gs))
    byo = next(g for g in groups if g["name"] == "byo")
    assert byo["file"].endswith("user-byo.rules.yml")
    assert {r["name"] for r in byo["rules"]} == {"byo:requests:sum", "ByoAppDown"}
    # the recording rule is evaluated over the app's metric: validated, loaded and working
    assert query_value(env, "byo:requests:sum") == 3


def assert_dashboards_rendered(state_dir: Path) -> None:
    rendered = state_dir / "rendered" / "grafana"
    # provisioned: Grafana gets a provider (one folder, named after the user's folder) for it
    providers = yaml.safe_load((rendered / "provisioning" / "dashboards" / "packs.yml").read_text())["providers"]
    mine = [p for p in providers if p["folder"] == "app"]
    assert len(mine) == 1, providers
    folder = rendered / "dashboards" / Path(mine[0]["options"]["path"]).name
    assert sorted(p.name for p in folder.glob("*.json")) == ["plain.json", "shared.json"]
    text = (folder / "shared.json").read_text()
    assert "${DS_" not in text and "__inputs" not in text
    shared = json.loads(text)
    assert [p["datasource"] for p in shared["panels"]] == [{"type": "prometheus", "uid": "prometheus"}, "prometheus"]
    assert shared["panels"][0]["targets"][0]["datasource"]["uid"] == "prometheus"
    assert shared["templating"]["list"][0]["datasource"]["uid"] == "prometheus"
    assert "id" not in shared, "a fixed id would collide with another folder's dashboard"
    assert json.loads((folder / "plain.json").read_text())["panels"][0]["datasource"]["uid"] == "prometheus"


# -- bad input: a clear error, nothing started ------------------------------------------------

@pytest.fixture
def native_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    require_binaries("prometheus", "promtool")
    env = isolated_env(tmp_path, ("prometheus",), STACKCTL_RUNTIME="native")
    (tmp_path / "repo").mkdir()
    yield env
    stackctl("down", "--volumes", env=env, cwd=tmp_path / "repo")


def assert_fails_and_nothing_started(env: dict[str, str], repo: Path, *expected: str) -> str:
    result = stackctl("up", env=env, cwd=repo)
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    run_dir = Path(env["STACKCTL_STATE_DIR"]) / "run"
    assert not list(run_dir.glob("*.json")) if run_dir.is_dir() else True, "a process was started"
    assert port_free("127.0.0.1", int(env["STACKCTL_PORT_PROMETHEUS"])), "prometheus is listening"
    return result.stderr


@pytest.mark.native
def test_dashboard_not_json_names_file_and_line(native_env: dict[str, str], tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", [("localhost:8000", "byo-app")])
    broken = repo / "monitoring" / "grafana" / "dashboards" / "app" / "broken.json"
    broken.write_text('{\n  "title": "x",\n  "panels": [\n    {"id": 1,}\n  ]\n}\n')
    assert_fails_and_nothing_started(native_env, repo, f"{broken}:4:", "not valid JSON")


@pytest.mark.native
def test_scrape_target_not_host_port_names_config_line(native_env: dict[str, str], tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", [("localhost:8000", "byo-app"), ("my-laptop", "nope")])
    # line 6: the second `- target:` entry
    assert_fails_and_nothing_started(native_env, repo, "stackctl.yaml:6", "is not host:port")


@pytest.mark.native
def test_missing_folder_is_an_error(native_env: dict[str, str], tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", [("localhost:8000", "byo-app")])
    (repo / "stackctl.yaml").write_text((repo / "stackctl.yaml").read_text().replace("dashboards/app", "dashboards/gone"))
    assert_fails_and_nothing_started(native_env, repo, "'monitoring/grafana/dashboards/gone' does not exist")


def _up_checks_rules() -> bool:
    from stackctl.stack import orchestrator as stack
    return "check_config_rules" in inspect.getsource(stack) or "check_rule_files" in inspect.getsource(stack)


@pytest.mark.native
def test_rule_file_promtool_rejects(native_env: dict[str, str], tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", [("localhost:8000", "byo-app")], rules=BAD_RULES)
    rule_file = repo / "monitoring" / "prometheus" / "byo.rules.yml"
    with pytest.raises(ConfigError) as caught:
        check_rule_files([rule_file.parent])
    assert f"{rule_file}: 5:" in caught.value.message and "unclosed left parenthesis" in caught.value.message
    assert caught.value.hint
    if not _up_checks_rules():
        pytest.skip("stack.up does not call stackctl.byo.rules_check yet (lead: wire check_config_rules before start)")
    assert_fails_and_nothing_started(native_env, repo, str(rule_file), "unclosed left parenthesis")


def only_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *tools: str) -> None:
    """PATH holding just ``tools`` (symlinks), so promtool is "not installed" for real."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("STACKCTL_CACHE_DIR", str(tmp_path / "cache"))  # nor a promtool `up` put in the cache


def test_no_promtool_anywhere_is_a_warning_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.rules.yml"
    bad.write_text(BAD_RULES)
    assert check_rule_files([]) is None
    only_on_path(tmp_path, monkeypatch)
    warning = check_rule_files([bad], image=STANDIN_IMAGES["prometheus"])
    assert warning and "not validated" in warning and "promtool" in warning


@pytest.mark.docker
def test_rule_file_checked_in_prometheus_image_without_local_promtool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_docker()
    only_on_path(tmp_path, monkeypatch, "docker")
    good, bad = tmp_path / "a" / "good.yml", tmp_path / "b" / "bad.yml"
    for path, text in ((good, GOOD_RULES), (bad, BAD_RULES)):
        path.parent.mkdir()
        path.write_text(text)
    image = STANDIN_IMAGES["prometheus"]
    assert check_rule_files([good], image=image) is None
    with pytest.raises(ConfigError) as caught:
        check_rule_files([good, bad.parent], image=image)
    assert f"{bad}: 5:" in caught.value.message and "/rules/" not in caught.value.message
    assert str(good) not in caught.value.message
