"""A real Prometheus (remote-write receiver, 24h out-of-order window, the repo's rules) and a
real redis-server, each on a free 127.0.0.1 port in its own tmp dir, stopped by pid."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]


def need_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not on PATH (install it to run the native seeding tests)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"{what} not ready after {timeout:.0f}s; last log lines:\n{tail}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def start_prometheus(tmp: Path) -> Iterator[str]:
    binary = need_binary("prometheus")
    rules = sorted((REPO / "prometheus" / "rules").glob("*.yml"))
    config = tmp / "prometheus.yml"
    config.write_text(
        "global: {evaluation_interval: 5s}\n"
        "storage: {tsdb: {out_of_order_time_window: 24h}}\n"
        f"rule_files: [{', '.join(repr(str(r)) for r in rules)}]\n"
    )
    port, log = free_port(), tmp / "prometheus.log"
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(url + "/-/ready", timeout=1).ok, "prometheus", log)
        yield url
    finally:
        _stop(proc)


def start_redis(tmp: Path) -> Iterator[str]:
    binary = need_binary("redis-server")
    port, log = free_port(), tmp / "redis.log"
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        def ping() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        wait_until(ping, "redis-server", log)
        yield f"redis://127.0.0.1:{port}"
    finally:
        _stop(proc)
