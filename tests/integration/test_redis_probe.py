"""The Redis readiness probe (redis-py) against a real redis-server: PONG with the password,
a clear "AUTH" failure without or with a wrong one, "connection refused" when nothing listens."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from helpers import require_binaries
from stackctl.state.health import RedisProbe
from stackctl.state.ports import free_ports

pytestmark = pytest.mark.native


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    require_binaries("redis-server")
    port, = free_ports(1)
    folder = tmp_path_factory.mktemp("redis")
    conf = folder / "redis.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\nrequirepass s3cret-pw\nsave \"\"\ndir {folder}\n")
    proc = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not RedisProbe("127.0.0.1", port, "s3cret-pw").check().ok:
            assert time.monotonic() < deadline and proc.poll() is None, "redis-server did not start"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pong_with_the_password(redis_port: int) -> None:
    result = RedisProbe("127.0.0.1", redis_port, "s3cret-pw").check()
    assert result.ok and result.detail == "PONG"


@pytest.mark.parametrize("password", [None, "wrong"])
def test_auth_failure_is_named_and_never_shows_the_password(redis_port: int, password: str | None) -> None:
    result = RedisProbe("127.0.0.1", redis_port, password).check()
    assert not result.ok and "AUTH" in result.detail, result.detail
    assert "s3cret-pw" not in result.detail


def test_nothing_listening_is_connection_refused(tmp_path: Path) -> None:
    port, = free_ports(1)
    result = RedisProbe("127.0.0.1", port, None, timeout=1).check()
    assert not result.ok and result.detail == "connection refused", result.detail
