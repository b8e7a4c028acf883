"""The native runtime against real Prometheus, Alertmanager, Pushgateway and Redis processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from helpers import fake_binary, isolated_env, require_binaries, stackctl
from stackctl.runtime.pids import PidRecord, is_ours

pytestmark = pytest.mark.native
SERVICES = ("prometheus", "alertmanager", "pushgateway", "redis")


@pytest.fixture
def env(tmp_path: Path):
    require_binaries("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")
    env = isolated_env(tmp_path, SERVICES, STACKCTL_RUNTIME="native")
    yield env
    stackctl("down", "--volumes", env=env)


def pids_of(env: dict[str, str]) -> dict[str, int]:
    run = Path(env["STACKCTL_STATE_DIR"]) / "run"
    return {p.stem: json.loads(p.read_text())["pid"] for p in run.glob("*.json")}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_up_status_logs_down(env: dict[str, str]) -> None:
    up = stackctl("up", env=env)
    assert up.returncode == 0, up.stderr
    status = json.loads(stackctl("status", "--json", env=env).stdout)
    states = {s["service"]: s["state"] for s in status}
    assert all(states[s] == "healthy" for s in (*SERVICES, "notify-sink")), states
    assert {s["service"]: s["url"] for s in status}["prometheus"] == f"http://127.0.0.1:{env['STACKCTL_PORT_PROMETHEUS']}"
    assert requests.get(f"http://127.0.0.1:{env['STACKCTL_PORT_PROMETHEUS']}/-/ready", timeout=5).ok
    logs = stackctl("logs", "redis", "--tail", "50", env=env)
    assert logs.returncode == 0 and "Ready to accept connections" in logs.stdout
    pids = pids_of(env)
    assert set(pids) == {*SERVICES, "notify-sink"}
    down = stackctl("down", env=env)
    assert down.returncode == 0, down.stderr
    assert not [s for s, pid in pids.items() if alive(pid)]
    assert (Path(env["STACKCTL_STATE_DIR"]) / "data" / "prometheus").is_dir(), "data dirs survive down"
    stackctl("down", "--volumes", env=env)
    assert not (Path(env["STACKCTL_STATE_DIR"]) / "data" / "prometheus").exists()


def test_up_twice_is_idempotent(env: dict[str, str]) -> None:
    assert stackctl("up", env=env).returncode == 0
    first = pids_of(env)
    again = stackctl("up", env=env)
    assert again.returncode == 0, again.stderr
    assert pids_of(env) == first


@pytest.mark.promise("S1")
def test_listening_sockets_are_loopback_only(env: dict[str, str]) -> None:
    assert stackctl("up", env=env).returncode == 0
    pids = set(pids_of(env).values())
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout if _has_ss() else ""
    if not out:
        pytest.skip("ss (iproute2) not installed")
    ours = [line for line in out.splitlines() if any(f"pid={p}," in line for p in pids)]
    assert ours, out
    for line in ours:
        local = line.split()[3]
        assert local.startswith("127.0.0.1:"), line


def _has_ss() -> bool:
    return subprocess.run(["sh", "-c", "command -v ss"], capture_output=True).returncode == 0


def test_port_taken_names_port_service_and_holder(env: dict[str, str]) -> None:
    port = int(env["STACKCTL_PORT_ALERTMANAGER"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        result = stackctl("up", env=env)
    assert result.returncode != 0
    assert f"port {port}" in result.stderr and "alertmanager" in result.stderr
    assert "STACKCTL_PORT_ALERTMANAGER" in result.stderr and "Traceback" not in result.stderr
    assert f"pid {os.getpid()}" in result.stderr
    assert not pids_of(env), "nothing half-started"


def test_binary_that_exits_at_once_reports_stderr_and_cleans_up(env: dict[str, str], tmp_path: Path) -> None:
    env.update(fake_binary(tmp_path, "prometheus", 'echo "fatal: bad config on purpose" >&2; exit 3\n'))
    result = stackctl("up", env=env)
    assert result.returncode != 0
    assert "prometheus exited during startup" in result.stderr and "bad config on purpose" in result.stderr
    pids = pids_of(env)
    assert not pids, f"everything started was stopped: {pids}"


def test_service_never_ready_times_out_with_logs(env: dict[str, str], tmp_path: Path) -> None:
    env.update(fake_binary(tmp_path, "prometheus", 'echo "still thinking..."; exec sleep 300\n'))
    env["STACKCTL_SERVICES"] = "prometheus,redis"
    result = stackctl("up", "--timeout", "3", env=env)
    assert result.returncode != 0
    assert "prometheus did not become healthy within 3s" in result.stderr
    assert "/-/ready" in result.stderr and "still thinking" in result.stderr
    assert not pids_of(env)


def test_keep_on_failure_leaves_processes(env: dict[str, str], tmp_path: Path) -> None:
    env.update(fake_binary(tmp_path, "prometheus", "exec sleep 300\n"))
    env["STACKCTL_SERVICES"] = "prometheus,redis"
    result = stackctl("up", "--timeout", "2", "--keep-on-failure", env=env)
    assert result.returncode != 0
    assert set(pids_of(env)) == {"prometheus", "redis"}


def test_missing_binary_names_the_ways_to_get_it(env: dict[str, str], tmp_path: Path) -> None:
    env["PATH"] = "/nonexistent"
    env["STACKCTL_CACHE_DIR"] = str(tmp_path / "cache")  # `up` creates it to get the binary
    env["STACKCTL_RELEASE_MIRROR"] = "http://127.0.0.1:9"  # the release host does not answer
    result = stackctl("up", "--services", "prometheus", env=env)
    assert result.returncode != 0
    assert "no Prometheus binary" in result.stderr
    assert "stackctl install prometheus" in result.stderr and "apt-get install prometheus" in result.stderr


def test_stale_pid_is_never_signalled(env: dict[str, str]) -> None:
    # a pid record pointing at a live process that is not ours (start time differs)
    victim = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        run_dir = Path(env["STACKCTL_STATE_DIR"]) / "run"
        run_dir.mkdir(parents=True)
        record = {"service": "prometheus", "pid": victim.pid, "start_ticks": 1, "exe": "/usr/bin/prometheus", "port": 1, "started_at": 0}
        (run_dir / "prometheus.json").write_text(json.dumps(record))
        assert not is_ours(PidRecord(**record))
        status = {s["service"]: s["state"] for s in json.loads(stackctl("status", "--json", env=env).stdout)}
        assert status["prometheus"] == "stopped"
        assert stackctl("down", env=env).returncode == 0
        assert victim.poll() is None, "a process that is not ours was signalled"
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()


@pytest.mark.promise("R5")
def test_down_is_idempotent_and_survives_missing_state(env: dict[str, str]) -> None:
    assert stackctl("down", env=env).returncode == 0
    assert stackctl("up", env=env).returncode == 0
    pids = pids_of(env)
    for pid in pids.values():  # processes killed behind stackctl's back
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert stackctl("down", env=env).returncode == 0
    assert stackctl("down", env=env).returncode == 0
