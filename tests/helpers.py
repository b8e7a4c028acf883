"""Shared test helpers: CLI runner, free ports, CI-aware requirement checks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, NoReturn

import pytest
import requests
import yaml

from stackctl.state.ports import free_ports

REPO = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NATIVE_BINARIES = ("prometheus", "promtool", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")
STANDIN_IMAGES = {
    "prometheus": "stackctl-standin/prometheus:latest",
    "alertmanager": "stackctl-standin/alertmanager:latest",
    "pushgateway": "stackctl-standin/pushgateway:latest",
    "redis": "stackctl-standin/redis:latest",
    "notify-sink": "stackctl-standin/busybox:latest",
}


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with a reason; under CI=true a missing engine or binary is a failure instead."""
    if CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def require_binaries(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        skip_or_fail(f"native binaries missing: {', '.join(missing)} (apt-get install prometheus prometheus-alertmanager prometheus-pushgateway redis-server)")


def docker_ready() -> str | None:
    """None when a Docker engine answers and the stand-in images exist, else the reason."""
    if shutil.which("docker") is None:
        return "docker CLI not installed (run ../shared/docker/engine.sh)"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=20)
    if info.returncode != 0:
        return f"no Docker engine answers: {info.stderr.strip()[:200]} (run ../shared/docker/engine.sh)"
    for image in STANDIN_IMAGES.values():
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=20).returncode != 0:
            return f"image {image} missing (run ../shared/docker/build-standins.sh and .ci/busybox-image.sh)"
    return None


def require_docker() -> None:
    reason = docker_ready()
    if reason:
        skip_or_fail(reason)


def unique_project(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def isolated_env(tmp_path: Path, services: tuple[str, ...] = ("prometheus", "alertmanager", "pushgateway", "redis"), **extra: str) -> dict[str, str]:
    """Environment for one isolated stack: unique project, own state dir, free ports, stand-in images."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_")}
    env.update({
        "STACKCTL_PROJECT": unique_project(),
        "STACKCTL_STATE_DIR": str(tmp_path / "state"),
        "STACKCTL_SERVICES": ",".join(services),
        "STACKCTL_TIMEOUT": "60",
    })
    every = tuple(dict.fromkeys((*services, "notify-sink", "grafana", "loki")))
    for service, port in zip(every, free_ports(len(every))):
        env[f"STACKCTL_PORT_{service.upper().replace('-', '_')}"] = str(port)
    for service, image in STANDIN_IMAGES.items():
        env[f"STACKCTL_IMAGE_{service.upper().replace('-', '_')}"] = image
    env.update(extra)
    return env


def stackctl(*args: str, env: Mapping[str, str], timeout: float = 180, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "stackctl", *args], env=dict(env), capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO)


@contextmanager
def repo_stack(root: Path, services: tuple[str, ...], config: Mapping[str, Any]) -> Iterator[tuple[dict[str, str], Path]]:
    """A native stack of ``services`` for a repo (``root/repo``) whose stackctl.yaml is ``config``
    (paths as strings): `up` there, yield (env, repo), and `down --volumes`, a failed `up` too."""
    env = isolated_env(root, services, STACKCTL_RUNTIME="native")
    repo = root / "repo"
    repo.mkdir()
    (repo / "stackctl.yaml").write_text(yaml.safe_dump(dict(config), sort_keys=False))
    try:
        up = stackctl("up", env=env, cwd=repo)
        assert up.returncode == 0, up.stdout + up.stderr
        yield env, repo
    finally:
        stackctl("down", "--volumes", env=env, cwd=repo)


@contextmanager
def metrics_app(host: str = "127.0.0.1", counter: str = "byo_test_requests",
                gauges: Mapping[str, float] | None = None) -> Iterator[tuple[int, Any]]:
    """A real /metrics endpoint (prometheus_client) on ``host``:free port with one counter (and
    ``gauges`` at their values): yields (port, the counter); shut down on exit."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

    from stackctl.state.ports import free_port

    registry = CollectorRegistry()
    requests_counter = Counter(counter, "Requests the test app handled.", registry=registry)
    for name, value in (gauges or {}).items():
        Gauge(name, "A gauge of the test app.", registry=registry).set(value)
    port = free_port(host)
    server, thread = start_http_server(port, addr=host, registry=registry)
    try:
        yield port, requests_counter
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fake_binary(tmp_path: Path, name: str, script: str) -> dict[str, str]:
    """A shell script named ``name`` first on PATH: a real process that misbehaves on purpose."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


# -- polling the running Prometheus (bounded) -------------------------------------------------

def poll(what: str, fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 45) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fetch()
            if done(last):
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached within {timeout}s; last seen: {last}")


def prom(env: dict[str, str], path: str, **params: str) -> Any:
    response = requests.get(f"http://127.0.0.1:{env['STACKCTL_PORT_PROMETHEUS']}{path}", params=params, timeout=5)
    response.raise_for_status()
    return response.json()["data"]


def prometheus_alerts(env: Mapping[str, str], cwd: Path) -> list[dict[str, Any]]:
    """The alerts the stack's Prometheus holds, as `stackctl alerts --json` lists them."""
    out = stackctl("alerts", "--json", env=env, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return [a for a in json.loads(out.stdout) if a["source"] == "prometheus"]
