"""The docker runtime against a real Docker engine and the stand-in images (no registry here)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from helpers import isolated_env, require_docker, stackctl

pytestmark = pytest.mark.docker
SERVICES = ("prometheus", "alertmanager", "pushgateway", "redis")


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60).stdout


def project_objects(project: str) -> dict[str, list[str]]:
    label = f"label=com.docker.compose.project={project}"
    return {
        "containers": docker("ps", "-aq", "--filter", label).split(),
        "networks": docker("network", "ls", "-q", "--filter", label).split(),
        "volumes": docker("volume", "ls", "-q", "--filter", label).split(),
    }


def wait_for_targets_up(env: dict[str, str], jobs: set[str], timeout: float = 30) -> set[str]:
    """Bounded poll: the jobs whose targets are up once all of ``jobs`` are (or at the deadline)."""
    deadline = time.monotonic() + timeout
    up: set[str] = set()
    while time.monotonic() < deadline:
        data = requests.get(f"http://127.0.0.1:{env['STACKCTL_PORT_PROMETHEUS']}/api/v1/targets", timeout=5).json()
        up = {t["labels"]["job"] for t in data["data"]["activeTargets"] if t["health"] == "up"}
        if jobs <= up:
            return up
        time.sleep(0.5)
    raise AssertionError(f"targets up after {timeout}s: {up}, wanted {jobs}")


@pytest.fixture
def env(tmp_path: Path):
    require_docker()
    env = isolated_env(tmp_path, SERVICES, STACKCTL_RUNTIME="docker")
    yield env
    stackctl("down", "--volumes", env=env)
    leftovers = project_objects(env["STACKCTL_PROJECT"])
    assert not any(leftovers.values()), f"left behind: {leftovers}"


@pytest.mark.promise("S1")
def test_up_status_logs_down_on_standins(env: dict[str, str]) -> None:
    project = env["STACKCTL_PROJECT"]
    up = stackctl("up", env=env)
    assert up.returncode == 0, up.stderr
    assert f"http://127.0.0.1:{env['STACKCTL_PORT_PROMETHEUS']}" in up.stdout  # the status table: stdout
    status = json.loads(stackctl("status", "--json", env=env).stdout)
    assert {s["service"]: s["state"] for s in status if s["service"] != "notify-sink"} == {s: "healthy" for s in SERVICES}
    # every published port is bound to 127.0.0.1 only
    for cid in project_objects(project)["containers"]:
        ports = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Ports}}", cid))
        for bindings in ports.values():
            for binding in bindings or []:
                assert binding["HostIp"] == "127.0.0.1", (cid, ports)
    # Prometheus inside the compose network scrapes Alertmanager by service name
    assert wait_for_targets_up(env, {"prometheus", "alertmanager", "pushgateway"})
    logs = stackctl("logs", "redis", "--tail", "20", env=env)
    assert logs.returncode == 0 and "Ready to accept connections" in logs.stdout
    # compose agrees: its own healthchecks are declared
    ps = docker("ps", "--filter", f"label=com.docker.compose.project={project}", "--format", "{{.Status}}")
    assert "health" in ps
    down = stackctl("down", env=env)
    assert down.returncode == 0, down.stderr
    left = project_objects(project)
    assert not left["containers"] and not left["networks"]
    assert len(left["volumes"]) >= 3, "named data volumes survive down"
    assert stackctl("down", "--volumes", env=env).returncode == 0
    assert not project_objects(project)["volumes"]


def test_port_taken(env: dict[str, str]) -> None:
    port = int(env["STACKCTL_PORT_REDIS"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        result = stackctl("up", env=env)
    assert result.returncode != 0
    assert f"port {port}" in result.stderr and "redis" in result.stderr and "STACKCTL_PORT_REDIS" in result.stderr
    assert not project_objects(env["STACKCTL_PROJECT"])["containers"]


@pytest.mark.promise("B7")
def test_unreachable_engine(env: dict[str, str], tmp_path: Path) -> None:
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-such-docker.sock"
    result = stackctl("up", env=env)
    assert result.returncode != 0
    assert "the docker runtime is not usable" in result.stderr and "DOCKER_HOST" in result.stderr
    assert "Traceback" not in result.stderr
    # with auto, no engine means native, and `config` says why
    env["STACKCTL_RUNTIME"] = "auto"
    cfg = json.loads(stackctl("config", "--json", env=env).stdout)
    assert cfg["runtime_chosen"] == "native" and "no Docker engine answers" in cfg["runtime_reason"]


def test_compose_v2_missing(env: dict[str, str], tmp_path: Path) -> None:
    env["DOCKER_CONFIG"] = str(tmp_path / "empty-docker-config")  # no cli-plugins: no `docker compose`
    env["PATH"] = "/usr/bin:/bin:/usr/local/bin"
    result = stackctl("up", env=env)
    assert result.returncode != 0
    assert "Docker Compose v2 is not installed" in result.stderr


def test_service_never_healthy_shows_probe_and_logs(env: dict[str, str]) -> None:
    # an image that runs but never answers the pushgateway's readiness probe
    env["STACKCTL_IMAGE_PUSHGATEWAY"] = "stackctl-standin/redis:latest"  # its VOLUME /data: an anonymous volume
    volumes_before = set(docker("volume", "ls", "-q").split())
    result = stackctl("up", "--timeout", "8", env=env)
    assert result.returncode != 0
    assert "pushgateway did not become healthy within 8s" in result.stderr and "/-/ready" in result.stderr
    assert "last log lines of pushgateway" in result.stderr and "Ready to accept connections" in result.stderr
    assert not project_objects(env["STACKCTL_PROJECT"])["containers"], "a failed up leaves nothing running"
    new = set(docker("volume", "ls", "-q").split()) - volumes_before
    assert not [v for v in new if len(v) == 64 and not v.startswith("t-")], f"nor an anonymous volume: {new}"


def test_image_that_cannot_be_pulled(env: dict[str, str]) -> None:
    env["STACKCTL_IMAGE_PUSHGATEWAY"] = "stackctl-does-not-exist/pushgateway:v0"
    result = stackctl("up", env=env)
    assert result.returncode != 0
    assert "stackctl-does-not-exist/pushgateway:v0" in result.stderr and "cannot be pulled" in result.stderr
    assert "STACKCTL_IMAGE_PUSHGATEWAY" in result.stderr
    assert not project_objects(env["STACKCTL_PROJECT"])["containers"]
