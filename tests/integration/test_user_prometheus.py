"""`prometheus: {config: prometheus.yml}` for real: a user's own Prometheus configuration runs the stack.

A real exporter (prometheus-client on a free port, in this process) is scraped through the
user's static job and through a file_sd file; the user's rule_files glob is loaded and its alert
fires; a public prometheus.yml (dockprom's) goes through `up` with the warnings it deserves;
a broken one starts nothing and names the file and line. One native stack for the module
(Prometheus alone: the user's file is about Prometheus), and one docker run with the stand-in
images, where localhost targets must reach the host.
"""

from __future__ import annotations

import json
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Iterator

import pytest

from helpers import STANDIN_IMAGES, isolated_env, metrics_app, poll, prom, require_binaries, require_docker, stackctl
from stackctl.state.ports import port_free

PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "prometheus-config" / "public"
RULES = """\
groups:
  - name: h35-user
    rules:
      - record: h35:requests:sum
        expr: sum(h35_requests_total)
      - alert: H35AppScraped
        expr: up{job="my-app"} == 1
        labels: {severity: info}
"""


def exporter(host: str = "127.0.0.1") -> AbstractContextManager[tuple[int, Any]]:
    return metrics_app(host, "h35_requests", {"h35_dropped_gauge": 1})  # the gauge: dropped by the user's metric_relabel_configs


def write_user_files(repo: Path, app: int, other: int, *, auth: bool = True) -> None:
    prom = repo / "monitoring"
    (prom / "rules").mkdir(parents=True, exist_ok=True)
    (prom / "targets").mkdir(exist_ok=True)
    (prom / "rules" / "app.yml").write_text(RULES)
    (prom / "targets" / "more.json").write_text(json.dumps([{"targets": [f"localhost:{other}"], "labels": {"source": "file"}}]))
    (prom / "pw").write_text("not-checked-by-the-app\n")
    (prom / "pw").chmod(0o644)
    basic_auth = "    basic_auth: {username: me, password_file: pw}\n" if auth else ""
    (prom / "prometheus.yml").write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  evaluation_interval: 30s\n"
        "  external_labels: {laptop: 'yes'}\n"
        "rule_files: ['rules/*.yml']\n"
        "remote_write: [{url: 'https://remote.example.invalid/api/v1/write'}]\n"
        "scrape_configs:\n"
        "  - job_name: prometheus\n"
        "    static_configs: [{targets: ['localhost:9090']}]\n"
        "  - job_name: my-app\n"
        f"{basic_auth}"
        f"    static_configs: [{{targets: ['localhost:{app}'], labels: {{team: payments}}}}]\n"
        "    metric_relabel_configs: [{source_labels: [__name__], regex: 'h35_dropped.*', action: drop}]\n"
        "  - job_name: from-files\n"
        "    file_sd_configs: [{files: ['targets/*.json']}]\n"
        "  - job_name: pods\n"
        "    kubernetes_sd_configs: [{role: pod}]\n")
    (repo / "stackctl.yaml").write_text("prometheus:\n  config: monitoring/prometheus.yml\n")




def target(env: dict[str, str], job: str) -> dict[str, Any]:
    found = poll(f"target {job} up", lambda: [t for t in prom(env, "/api/v1/targets")["activeTargets"] if t["labels"]["job"] == job],
                 lambda ts: bool(ts) and ts[0]["health"] == "up")
    return dict(found[0])


def value(env: dict[str, str], expr: str) -> float:
    result = poll(f"query {expr}", lambda: prom(env, "/api/v1/query", query=expr)["result"], bool)
    return float(result[0]["value"][1])


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    require_binaries("prometheus", "promtool")
    root = tmp_path_factory.mktemp("userprom")
    env = isolated_env(root, ("prometheus",), STACKCTL_RUNTIME="native")
    (root / "repo").mkdir()
    yield env, root / "repo"
    stackctl("down", "--volumes", env=env, cwd=root / "repo")


@pytest.mark.native
def test_users_prometheus_yml_scrapes_loads_rules_and_fires(native: tuple[dict[str, str], Path]) -> None:
    env, repo = native
    with exporter() as (app, counter), exporter() as (other, _):
        counter.inc(3)
        write_user_files(repo, app, other)
        up = stackctl("up", env=env, cwd=repo)
        assert up.returncode == 0, up.stderr
        src = repo / "monitoring" / "prometheus.yml"
        for notice in (f"{src}:6: remote_write: dropped, nothing leaves the machine",
                       f"{src}:8: job 'prometheus' scrapes the stack's own prometheus: left out",
                       "job 'pods' left out: kubernetes_sd_configs",
                       f"{src}:3: global.evaluation_interval 30s -> 1s"):
            assert notice in up.stderr, up.stderr

        mine = target(env, "my-app")
        assert mine["labels"]["instance"] == f"localhost:{app}" and mine["labels"]["team"] == "payments"
        assert target(env, "from-files")["labels"]["source"] == "file"
        assert value(env, 'h35_requests_total{job="my-app"}') == 3
        assert not prom(env, "/api/v1/query", query="h35_dropped_gauge{job=\"my-app\"}")["result"]  # its metric_relabel_configs applied
        # the user's recording rule, over both targets: polled, since an evaluation from before the
        # app's first scrape (sum 0) may still be the latest sample
        poll("h35:requests:sum >= 3", lambda: prom(env, "/api/v1/query", query="h35:requests:sum")["result"],
             lambda result: bool(result) and float(result[0]["value"][1]) >= 3)
        groups = prom(env, "/api/v1/rules")["groups"]
        group = next(g for g in groups if g["name"] == "h35-user")
        assert group["file"].endswith("user-app.yml")
        poll("alert H35AppScraped firing", lambda: prom(env, "/api/v1/alerts")["alerts"],
             lambda alerts: any(a["labels"]["alertname"] == "H35AppScraped" and a["state"] == "firing" for a in alerts))
        config = prom(env, "/api/v1/status/config")["yaml"]
        assert "laptop: \"yes\"" in config or "laptop: 'yes'" in config or "laptop: yes" in config
        assert "remote.example.invalid" not in config and "kubernetes_sd_configs" not in config
        assert str(repo / "monitoring" / "pw") in config  # password_file resolved against the user's file

        listed = json.loads(stackctl("targets", "--json", env=env, cwd=repo).stdout)
        assert {t["job"] for t in listed if t["user"]} == {"my-app", "from-files"}, listed

        # `seed` reads the same rules: the user's file is among what it synthesizes from
        shown = json.loads(stackctl("config", "--json", env=env, cwd=repo).stdout)
        assert shown["prometheus_config"] == str(src)


@pytest.mark.native
def test_a_public_prometheus_yml_goes_through_up(native: tuple[dict[str, str], Path]) -> None:
    env, repo = native
    (repo / "stackctl.yaml").write_text(f"prometheus:\n  config: {PUBLIC / 'dockprom' / 'prometheus.yml'}\n")
    up = stackctl("up", env=env, cwd=repo)
    assert up.returncode == 0, up.stderr
    assert "alerting: dropped, alerts go to the stack's Alertmanager" in up.stderr
    assert "job 'prometheus' scrapes the stack's own prometheus: left out" in up.stderr
    jobs = poll("dockprom's jobs", lambda: {t["labels"]["job"] for t in prom(env, "/api/v1/targets")["activeTargets"]},
                lambda j: {"nodeexporter", "cadvisor"} <= j)
    assert "prometheus" in jobs
    groups = poll("dockprom's rule groups", lambda: {g["name"] for g in prom(env, "/api/v1/rules")["groups"]},
                  lambda g: {"targets", "host", "containers"} <= g)
    assert groups


@pytest.mark.native
def test_a_broken_edit_keeps_the_running_stack_and_status_works(native: tuple[dict[str, str], Path]) -> None:
    env, repo = native
    (repo / "broken.yml").write_text("scrape_configs:\n  - job_name: a\n    scrape_interval: 5\n")
    (repo / "stackctl.yaml").write_text("prometheus:\n  config: broken.yml\n")
    up = stackctl("up", env=env, cwd=repo)
    assert up.returncode != 0 and f"{repo / 'broken.yml'}:3:" in up.stderr, up.stderr
    assert stackctl("status", env=env, cwd=repo).returncode == 0  # the file is read again only by `up`
    jobs = {t["labels"]["job"] for t in prom(env, "/api/v1/targets")["activeTargets"]}
    assert "a" not in jobs and "nodeexporter" in jobs  # Prometheus keeps its last good configuration


@pytest.mark.native
@pytest.mark.parametrize(("text", "expected"), [
    ("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['localhost:1']}]\n    scrape_intreval: 5s\n",
     ":4: field scrape_intreval not found in type config.ScrapeConfig"),
    ("- job_name: a\n", ":1: a Prometheus configuration is a mapping"),
    ("scrape_configs:\n  - job_name: a\n  - job_name: a\n", ":3: job_name 'a' is already the name of the job at"),
    ("scrape_config: []\n", ":1: 'scrape_config' is not a Prometheus configuration key (did you mean 'scrape_configs'?)"),
])
def test_a_broken_prometheus_yml_starts_nothing(tmp_path: Path, text: str, expected: str) -> None:
    require_binaries("prometheus", "promtool")
    env = isolated_env(tmp_path, ("prometheus",), STACKCTL_RUNTIME="native")
    (tmp_path / "mine.yml").write_text(text)
    (tmp_path / "stackctl.yaml").write_text("prometheus:\n  config: mine.yml\n")
    up = stackctl("up", env=env, cwd=tmp_path)
    assert up.returncode != 0
    assert f"{tmp_path / 'mine.yml'}{expected}" in up.stderr, up.stderr
    assert "Traceback" not in up.stderr and "hint" in up.stderr.lower()
    assert port_free("127.0.0.1", int(env["STACKCTL_PORT_PROMETHEUS"]))
    assert not (tmp_path / "state" / "stack.json").exists()


@pytest.mark.docker
def test_docker_localhost_targets_reach_the_host(tmp_path: Path) -> None:
    require_docker()
    env = isolated_env(tmp_path, ("prometheus",), STACKCTL_RUNTIME="docker")
    repo = tmp_path / "repo"
    repo.mkdir()
    # host.docker.internal is the docker0 bridge address: the exporter listens there, never 0.0.0.0
    with exporter(_host_gateway()) as (app, counter), exporter(_host_gateway()) as (other, _):
        counter.inc(3)
        write_user_files(repo, app, other, auth=False)
        try:
            up = stackctl("up", env=env, cwd=repo)
            assert up.returncode == 0, up.stderr
            mine = target(env, "my-app")
            assert mine["scrapeUrl"] == f"http://host.docker.internal:{app}/metrics"
            assert mine["labels"]["instance"] == f"localhost:{app}"  # as the user wrote it
            assert target(env, "from-files")["labels"]["source"] == "file"  # the file_sd file, copied in
            assert value(env, 'h35_requests_total{job="my-app"}') == 3
            assert any(g["name"] == "h35-user" for g in prom(env, "/api/v1/rules")["groups"])
        finally:
            stackctl("down", "--volumes", env=env, cwd=repo)


def _host_gateway() -> str:
    out = subprocess.run(
        ["docker", "run", "--rm", "--pull", "never", "--network", "none", "--add-host", "h35-probe:host-gateway",
         "--entrypoint", "cat", STANDIN_IMAGES["prometheus"], "/etc/hosts"],
        capture_output=True, text=True, timeout=60,
    ).stdout
    for line in out.splitlines():
        if line.endswith("h35-probe"):
            return line.split()[0]
    raise AssertionError(f"host-gateway did not resolve in a container:\n{out}")


@pytest.mark.docker
def test_docker_configs_are_judged_by_the_images_own_promtool(tmp_path: Path) -> None:
    """The stand-in image is Debian's Prometheus (no Consul discovery): its promtool says so, and
    the job's consul_sd_configs is left out of what that Prometheus will load."""
    require_docker()
    env = isolated_env(tmp_path, ("prometheus",), STACKCTL_RUNTIME="docker")
    (tmp_path / "stackctl.yaml").write_text(f"prometheus:\n  config: {PUBLIC / 'prometheus-consul' / 'prometheus.yml'}\n")
    from stackctl.config import load_config
    from stackctl.render.configs import render

    cfg = load_config(env=env, cwd=tmp_path)
    tree = render(cfg, "docker")
    assert any("consul_sd_configs left out: this Prometheus build does not support it" in w for w in tree.warnings), tree.warnings
    assert "consul_sd_configs" not in (tmp_path / "state" / "rendered" / "prometheus" / "prometheus.yml").read_text()
