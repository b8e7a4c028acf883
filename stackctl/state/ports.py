"""Is a host port free, and if not, who holds it (so the error can name the process)."""

from __future__ import annotations

import socket

import psutil


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR as the servers themselves use it: TIME_WAIT leftovers don't count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct free ports: every socket stays bound until all are chosen, so the
    kernel never hands out the same port twice (one-at-a-time draws sometimes do)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind((host, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def listener_pids(port: int) -> set[int]:
    """Pids of the local processes listening on TCP ``port`` (those psutil may see)."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return set()
    return {c.pid for c in conns if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid}


def port_holder(port: int) -> str | None:
    """``"pid 4242 (prometheus)"`` for the local listener on ``port``, when psutil can tell."""
    for pid in sorted(listener_pids(port)):
        try:
            return f"pid {pid} ({psutil.Process(pid).name()})"
        except psutil.Error:
            continue
    return None
