"""A hostile Redis password on both runtimes (issue 21, item 7).

The password holds a space, quotes, a backslash, URL delimiters, non-ASCII, and newlines that
would inject ``protected-mode no`` and a second ``port`` into a naively written config. It must
be one password: Redis starts, requires exactly it, takes no injected directive; it never shows
in output, logs, argv, environment or `docker inspect`; logs that could hold it are 0600; the
seeder (which gets it inside a redis:// URL) still connects. And when Redis fails, the error
stackctl prints does not echo it.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from helpers import fake_binary, isolated_env, require_binaries, require_docker, stackctl
from stackctl.state.ports import free_ports

SERVICES = ("prometheus", "redis")
INJECT_PORT = free_ports(1)[0]
PASSWORD = f'two words "quoted" back\\slash @/#?%20 é\nprotected-mode no\nport {INJECT_PORT}\nrequirepass x'
FRAGMENTS = ("two words", "back\\slash", f"port {INJECT_PORT}")


def _leaks(text: str) -> list[str]:
    return [f for f in (PASSWORD, *FRAGMENTS) if f in text]


@pytest.fixture(scope="module", params=[pytest.param("native", marks=pytest.mark.native), pytest.param("docker", marks=pytest.mark.docker)])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], str]]:
    runtime = request.param
    if runtime == "docker":
        require_docker()
    else:
        require_binaries("prometheus", "redis-server")
    env = isolated_env(tmp_path_factory.mktemp(f"redis-pw-{runtime}"), SERVICES, STACKCTL_RUNTIME=runtime, STACKCTL_REDIS_PASSWORD=PASSWORD)
    up = stackctl("up", env=env)
    try:
        assert up.returncode == 0, up.stderr
        yield runtime, env, up.stdout + up.stderr
    finally:
        stackctl("down", "--volumes", env=env)


@pytest.mark.promise("S3")
def test_the_whole_password_and_nothing_else_is_redis_auth(stack: tuple[str, dict[str, str], str]) -> None:
    import redis

    _runtime, env, output = stack
    assert _leaks(output) == []
    port = int(env["STACKCTL_PORT_REDIS"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert sock.recv(100).startswith(b"-NOAUTH")
    for wrong in ("two", "two words", "x"):
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port, password=wrong).ping()
    client = redis.Redis(host="127.0.0.1", port=port, password=PASSWORD, decode_responses=True)
    assert client.ping()
    assert client.config_get("protected-mode")["protected-mode"] == "yes"  # not the injected "no"
    with socket.socket() as sock:
        sock.settimeout(1)
        assert sock.connect_ex(("127.0.0.1", INJECT_PORT)) != 0, "the injected port directive took effect"
    assert {s["service"]: s["state"] for s in json.loads(stackctl("status", "--json", env=env).stdout)}["redis"] == "healthy"


def test_the_seeder_connects_with_it(stack: tuple[str, dict[str, str], str]) -> None:
    _runtime, env, _ = stack
    seeded = stackctl("seed", "--scenario", "cluster-redis-backlog", "--history", "2m", "--duration", "0", env=env, timeout=240)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    assert _leaks(seeded.stdout + seeded.stderr) == []


@pytest.mark.promise("S3")
def test_it_is_nowhere_but_the_secret_file(stack: tuple[str, dict[str, str], str]) -> None:
    runtime, env, _ = stack
    state = Path(env["STACKCTL_STATE_DIR"])
    assert _leaks(stackctl("logs", "redis", "--tail", "200", env=env).stdout) == []
    assert _leaks(stackctl("config", "--json", env=env).stdout) == []
    for path in state.rglob("*"):
        if path.is_file() and path.name != "redis-auth.conf":
            assert _leaks(path.read_text(errors="replace")) == [], f"{path} holds the password"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for what in ("cmdline", "environ"):
            try:
                data = Path(f"/proc/{pid}/{what}").read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert "two words" not in data, f"pid {pid} has the password in its {what}"
    if runtime == "native":
        conf = state / "secrets" / "redis-auth.conf"
        assert stat.S_IMODE(conf.stat().st_mode) == 0o600
        assert len(conf.read_text().splitlines()) == 1  # one directive, whatever the password holds
        for log in (state / "logs").glob("*.log"):
            assert stat.S_IMODE(log.stat().st_mode) == 0o600, log
    else:
        cid = subprocess.run(["docker", "ps", "-q", "--filter", f"label=io.stackctl.project={env['STACKCTL_PROJECT']}",
                              "--filter", "label=io.stackctl.service=redis"], capture_output=True, text=True).stdout.split()[0]
        inspect = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True).stdout
        assert _leaks(inspect) == [] and "REDISCLI_AUTH" not in inspect and "STACKCTL_REDIS" not in inspect
        inside = subprocess.run(["docker", "exec", cid, "sh", "-c", "stat -c '%a %u' /run/secrets/redis-auth.conf; wc -l < /run/secrets/redis-auth.conf"],
                                capture_output=True, text=True)
        assert inside.stdout.split() == ["400", "999", "1"], inside.stdout + inside.stderr


@pytest.mark.native
@pytest.mark.promise("S3")
def test_a_failing_redis_never_prints_it(tmp_path: Path) -> None:
    """A redis-server that echoes its config and exits, as Redis does on a line it cannot parse."""
    require_binaries("redis-server")
    env = isolated_env(tmp_path, ("redis",), STACKCTL_RUNTIME="native", STACKCTL_REDIS_PASSWORD=PASSWORD, STACKCTL_TIMEOUT="10")
    # printf, not echo: sh's echo would interpret the backslashes Redis prints as they are
    env.update(fake_binary(tmp_path, "redis-server", 'echo "*** FATAL CONFIG FILE ERROR ***"; printf ">>> %s\\n" "$(cat "$1")"; '
                                                       'printf "password: %s\\n" "$STACKCTL_REDIS_PASSWORD"; exit 1\n'))
    try:
        up = stackctl("up", env=env, timeout=60)
        assert up.returncode != 0 and "FATAL CONFIG FILE ERROR" in up.stderr, up.stderr
        assert _leaks(up.stdout + up.stderr) == [], up.stderr
        log = Path(env["STACKCTL_STATE_DIR"]) / "logs" / "redis.log"
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        assert _leaks(stackctl("logs", "redis", "--tail", "50", env=env).stdout) == []
    finally:
        stackctl("down", env=env)
