"""Security promises checked on real stacks: sockets, credentials, secrets, container users."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from helpers import isolated_env, require_binaries, require_docker, stackctl

SERVICES = ("prometheus", "alertmanager", "pushgateway", "redis")
SLACK = "https://hooks.slack.example/T000/B000/very-secret-slack-token"
PAGER = "pagerduty-routing-key-very-secret-0123456789"
REDIS_PW = "redis-pw-very-secret-42"


@pytest.fixture(scope="module", params=[pytest.param("native", marks=pytest.mark.native), pytest.param("docker", marks=pytest.mark.docker)])
def secure_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One stack per runtime with every secret set, shared by this module's read-only checks."""
    runtime = request.param
    tmp_path = tmp_path_factory.mktemp(f"secure-{runtime}")
    if runtime == "docker":
        require_docker()
    else:
        require_binaries("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")
    env = isolated_env(tmp_path, SERVICES, STACKCTL_RUNTIME=runtime, SLACK_WEBHOOK_URL=SLACK,
                       PAGERDUTY_ROUTING_KEY=PAGER, STACKCTL_REDIS_PASSWORD=REDIS_PW)
    up = stackctl("up", env=env)
    assert up.returncode == 0, up.stderr
    yield runtime, env, up
    stackctl("down", "--volumes", env=env)


def _secret_free(text: str) -> bool:
    return SLACK not in text and PAGER not in text and REDIS_PW not in text


def _listening(pids: set[int]) -> list[str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    return [line.split()[3] for line in out.splitlines() if any(f"pid={p}," in line for p in pids)]


def _stack_pids(runtime: str, env: dict[str, str]) -> set[int]:
    if runtime == "native":
        run = Path(env["STACKCTL_STATE_DIR"]) / "run"
        return {json.loads(p.read_text())["pid"] for p in run.glob("*.json")}
    # docker: the proxies that publish the ports on the host
    out = subprocess.run(["pgrep", "-f", "docker-proxy"], capture_output=True, text=True).stdout
    ports = {env[k] for k in env if k.startswith("STACKCTL_PORT_")}
    pids = set()
    for pid in out.split():
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if any(f"-host-port {p} " in cmd + " " for p in ports):
            pids.add(int(pid))
    return pids


@pytest.mark.promise("S1")
def test_every_listening_socket_is_loopback(secure_env) -> None:
    runtime, env, _ = secure_env
    pids = _stack_pids(runtime, env)
    assert pids, "found the stack's processes"
    sockets = _listening(pids)
    assert sockets, "the stack listens somewhere"
    assert all(s.startswith("127.0.0.1:") for s in sockets), sockets
    # and nothing answers on another interface of this machine
    others = [ip for ip in subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split() if not ip.startswith("127.")]
    for ip in others[:1]:
        with socket.socket() as sock:
            sock.settimeout(1)
            assert sock.connect_ex((ip, int(env["STACKCTL_PORT_PROMETHEUS"]))) != 0


@pytest.mark.promise("S4")
def test_secrets_only_where_they_must_be(secure_env) -> None:
    runtime, env, up = secure_env
    state = Path(env["STACKCTL_STATE_DIR"])
    assert _secret_free(up.stdout + up.stderr)
    config = stackctl("config", "--json", env=env)
    assert _secret_free(config.stdout + config.stderr)
    for service in ("alertmanager", "redis", "prometheus"):
        assert _secret_free(stackctl("logs", service, "--tail", "0", env=env).stdout)
    for path in state.rglob("*"):
        if path.is_file() and not _secret_free(path.read_text(errors="replace")):
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == 0o600, f"{path} holds a secret with mode {oct(mode)}"
            assert "secrets" in path.parts, f"{path} holds a secret outside the secrets dirs"
    am = (state / "rendered/alertmanager/alertmanager.yml").read_text()
    assert "api_url_file" in am and "routing_key_file" in am, "the Slack/PagerDuty receivers are active"
    # a secret never reaches an error message either
    bad = stackctl("logs", "nosuchservice", env=env)
    assert bad.returncode != 0 and _secret_free(bad.stderr)
    if runtime == "docker":
        cid = subprocess.run(["docker", "ps", "-q", "--filter", f"label=io.stackctl.project={env['STACKCTL_PROJECT']}",
                              "--filter", "label=io.stackctl.service=alertmanager"], capture_output=True, text=True).stdout.split()[0]
        inspect = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True).stdout
        assert SLACK not in inspect and PAGER not in inspect
        inside = subprocess.run(["docker", "exec", cid, "cat", "/run/secrets/slack_webhook_url"], capture_output=True, text=True)
        assert inside.stdout.strip() == SLACK, inside.stderr


@pytest.mark.promise("S2")
def test_grafana_password_generated_and_shown_on_request(secure_env) -> None:
    _runtime, env, _ = secure_env
    state = Path(env["STACKCTL_STATE_DIR"])
    secret = state / "secrets" / "grafana_admin_password"
    hidden = stackctl("urls", "--json", env=env)
    assert json.loads(hidden.stdout)["credentials"] == {}
    shown = json.loads(stackctl("urls", "--json", "--show-password", env=env).stdout)
    password = shown["credentials"]["grafana"]["password"]
    assert len(password) >= 16 and password != "admin"
    assert secret.read_text().strip() == password
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    compose = state / "compose.yaml"
    if compose.exists():
        assert password not in compose.read_text()  # anonymous-off is checked in tests/unit/test_render.py
    # another project gets another password
    other = dict(env, STACKCTL_PROJECT=env["STACKCTL_PROJECT"] + "b", STACKCTL_STATE_DIR=str(state) + "-b")
    # (`urls` asks a running stack; a project that is not running only has its own generated secret)
    from stackctl.config import load_config
    from stackctl.stack.orchestrator import credentials

    assert credentials(load_config(env=other))["grafana"]["password"] != password


@pytest.mark.promise("S3")
def test_redis_requires_its_password_and_it_is_never_on_a_command_line(secure_env) -> None:
    runtime, env, _ = secure_env
    port = int(env["STACKCTL_PORT_REDIS"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert sock.recv(100).startswith(b"-NOAUTH")
    import redis

    assert redis.Redis(host="127.0.0.1", port=port, password=REDIS_PW).ping()
    assert {s["service"]: s["state"] for s in json.loads(stackctl("status", "--json", env=env).stdout)}["redis"] == "healthy"
    # the detached seeder gets the Redis URL (with the password) too: through a file, not argv
    seeding = stackctl("seed", "--scenario", "cluster-redis-backlog", "--history", "5m", "--detach", env=env)
    assert seeding.returncode == 0 and _secret_free(seeding.stdout + seeding.stderr), seeding.stderr
    try:
        _scan_cmdlines()
        assert json.loads(stackctl("seed", "status", "--json", env=env).stdout)["running"]
    finally:
        stackctl("seed", "stop", env=env)


def _scan_cmdlines() -> None:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            assert REDIS_PW.encode() not in cmd, f"pid {pid} shows the Redis password in its argv"


@pytest.mark.docker
@pytest.mark.promise("S5")
def test_containers_run_unprivileged(tmp_path: Path) -> None:
    require_docker()
    env = isolated_env(tmp_path, SERVICES, STACKCTL_RUNTIME="docker")
    try:
        assert stackctl("up", env=env).returncode == 0
        ids = subprocess.run(["docker", "ps", "-q", "--filter", f"label=io.stackctl.project={env['STACKCTL_PROJECT']}"],
                             capture_output=True, text=True).stdout.split()
        assert len(ids) == 5
        for cid in ids:
            info = json.loads(subprocess.run(["docker", "inspect", cid], capture_output=True, text=True).stdout)[0]
            host = info["HostConfig"]
            assert host["Privileged"] is False and host["NetworkMode"] != "host"
            assert not any("docker.sock" in m["Source"] for m in info["Mounts"])
            # the processes as the host sees them: first column is the (host) user
            top = subprocess.run(["docker", "top", cid], capture_output=True, text=True).stdout.splitlines()[1:]
            assert top and all(line.split()[0] not in ("root", "0") for line in top), (info["Config"]["Labels"], top)
    finally:
        stackctl("down", "--volumes", env=env)
