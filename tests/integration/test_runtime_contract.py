"""One contract, two runtimes: the same calls give the same answers on docker and native."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import isolated_env, require_binaries, require_docker, stackctl
from stackctl.config import load_config
from stackctl.runtime.base import Runtime
from stackctl.runtime.compose import DockerRuntime
from stackctl.runtime.native import NativeRuntime

SERVICES = ("prometheus", "alertmanager", "pushgateway", "redis")
RUNTIMES = ["native", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(params=RUNTIMES)
def runtime_env(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "docker":
        require_docker()
    else:
        require_binaries("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")
    env = isolated_env(tmp_path, SERVICES, STACKCTL_RUNTIME=request.param)
    yield request.param, env
    stackctl("down", "--volumes", env=env)


def states(env: dict[str, str]) -> dict[str, str]:
    out = stackctl("status", "--json", env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert all(set(item) == {"service", "state", "url"} for item in data)
    return {item["service"]: item["state"] for item in data}


def test_both_runtimes_implement_the_protocol() -> None:
    for runtime in (DockerRuntime(), NativeRuntime()):
        for method in ("available", "missing", "prepare", "start", "exited", "stop", "restart", "raw_status", "logs",
                       "running_services"):
            assert callable(getattr(runtime, method)), (runtime.name, method)
    typed: list[Runtime] = [DockerRuntime(), NativeRuntime()]  # mypy checks the structural match
    assert {r.name for r in typed} == {"docker", "native"}


@pytest.mark.native
def test_same_lifecycle_on_both(runtime_env) -> None:
    runtime, env = runtime_env
    assert set(states(env).values()) == {"absent"}
    up = stackctl("up", env=env)
    assert up.returncode == 0, up.stderr
    assert states(env) == {s: "healthy" for s in (*SERVICES, "notify-sink")}
    again = stackctl("up", env=env)  # idempotent
    assert again.returncode == 0, again.stderr
    _restart_keeps_data(env)
    logs = stackctl("logs", "redis", "--tail", "200", env=env)
    assert logs.returncode == 0 and "Ready to accept connections" in logs.stdout
    cfg_json = json.loads(stackctl("config", "--json", env=env).stdout)
    assert cfg_json["runtime_chosen"] == runtime
    down = stackctl("down", env=env)
    assert down.returncode == 0, down.stderr
    assert set(states(env).values()) <= {"absent", "stopped"}
    assert stackctl("down", env=env).returncode == 0  # idempotent


def _restart_keeps_data(env: dict[str, str]) -> None:
    """``Runtime.restart`` (through the orchestrator): a new Prometheus process, ready again, same data."""
    import requests

    from stackctl.stack import orchestrator

    cfg = load_config(env=env, cwd=Path(env["STACKCTL_STATE_DIR"]).parent)
    url = cfg.url("prometheus")

    import time

    import numpy as np

    from stackctl.seeding.generate import Series, make_labels
    from stackctl.seeding.remote_write import backfill

    now_ms = int(time.time() * 1000)
    backfill(url, [Series(make_labels("contract_restart_probe"), np.array([now_ms - 1000, now_ms]), np.array([1.0, 2.0]))])
    took = orchestrator.restart_service(cfg, "prometheus")
    assert took < 30 and states(env)["prometheus"] == "healthy"
    got = requests.get(url + "/api/v1/query", params={"query": "contract_restart_probe[1m]"}, timeout=10).json()
    assert len(got["data"]["result"][0]["values"]) == 2  # replayed from the WAL: nothing lost
    from stackctl.errors import StateError

    with pytest.raises(StateError):
        orchestrator.restart_service(cfg, "grafana")  # not running: refused with a hint, nothing started


@pytest.mark.native
def test_down_volumes_removes_data_on_both(runtime_env) -> None:
    runtime, env = runtime_env
    assert stackctl("up", env=env).returncode == 0
    import redis

    redis.Redis(host="127.0.0.1", port=int(env["STACKCTL_PORT_REDIS"])).set("k", "v")
    assert stackctl("down", env=env).returncode == 0
    assert stackctl("up", env=env).returncode == 0
    assert redis.Redis(host="127.0.0.1", port=int(env["STACKCTL_PORT_REDIS"])).get("k") == b"v", "data survives down"
    assert stackctl("down", "--volumes", env=env).returncode == 0
    assert stackctl("up", env=env).returncode == 0
    assert redis.Redis(host="127.0.0.1", port=int(env["STACKCTL_PORT_REDIS"])).get("k") is None, "down --volumes removed it"
    cfg = load_config(env=env, cwd=Path(env["STACKCTL_STATE_DIR"]).parent)
    assert cfg.project == env["STACKCTL_PROJECT"]
