"""The service catalog: what stackctl knows about each component of the stack.

Container-side facts (images, commands, healthchecks, mounts) live in compose/docker-compose.yml,
the one definition both runtimes start from. This module holds the host-side facts: default
host ports, how stackctl probes readiness from the host, and the native binaries' names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from stackctl.errors import UsageError
from stackctl.yamlfile import suggest


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    container_port: int
    default_port: int
    probe: str  # "http" (GET health_path, expect 2xx) or "redis" (PING)
    health_path: str = ""
    binaries: tuple[str, ...] = ()  # native names, in lookup order (upstream first, then Debian's)
    apt_package: str | None = None
    internal: bool = False  # started with the stack, not chosen by users
    native_listen: Callable[[str, int], list[str]] | None = None  # extra argv for bind address + port

    @property
    def scheme(self) -> str:
        return "redis" if self.probe == "redis" else "http"

    def url(self, bind: str, port: int) -> str:
        host = "127.0.0.1" if bind in ("0.0.0.0", "") else bind
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{port}"


def _web_listen(bind: str, port: int) -> list[str]:
    return [f"--web.listen-address={bind}:{port}"]


def _redis_listen(bind: str, port: int) -> list[str]:
    return ["--bind", bind, "--port", str(port), "--daemonize", "no"]


def _loki_listen(bind: str, port: int) -> list[str]:
    # gRPC on port 0 (any free port): nothing talks gRPC to a single local Loki.
    return [f"-server.http-listen-address={bind}", f"-server.http-listen-port={port}", "-server.grpc-listen-port=0"]


def _sink_listen(bind: str, port: int) -> list[str]:
    return ["--bind", bind, "--port", str(port)]


SERVICES: dict[str, ServiceSpec] = {
    s.name: s
    for s in (
        ServiceSpec("prometheus", "Prometheus", 9090, 9090, "http", "/-/ready", ("prometheus",), "prometheus", native_listen=_web_listen),
        ServiceSpec(
            "alertmanager", "Alertmanager", 9093, 9093, "http", "/-/ready",
            ("alertmanager", "prometheus-alertmanager"), "prometheus-alertmanager", native_listen=_web_listen,
        ),
        ServiceSpec(
            "pushgateway", "Pushgateway", 9091, 9091, "http", "/-/ready",
            ("pushgateway", "prometheus-pushgateway"), "prometheus-pushgateway", native_listen=_web_listen,
        ),
        ServiceSpec("redis", "Redis", 6379, 6379, "redis", "", ("redis-server",), "redis-server", native_listen=_redis_listen),
        ServiceSpec("grafana", "Grafana", 3000, 3000, "http", "/api/health", ("grafana", "grafana-server"), None),
        ServiceSpec("loki", "Loki", 3100, 3100, "http", "/ready", ("loki",), None, native_listen=_loki_listen),
        ServiceSpec("notify-sink", "Notification sink", 9097, 9097, "http", "/healthz", (), None, internal=True, native_listen=_sink_listen),
    )
}

USER_SERVICES: tuple[str, ...] = tuple(n for n, s in SERVICES.items() if not s.internal)


def get_service(name: str) -> ServiceSpec:
    try:
        return SERVICES[name]
    except KeyError:
        raise UsageError(
            f"unknown service {name!r}{suggest(name, USER_SERVICES)}",
            hint=f"services are: {', '.join(USER_SERVICES)}",
        ) from None


def parse_services(value: str | list[str] | tuple[str, ...], source: str) -> tuple[str, ...]:
    """Validate a service list (comma string or list); keeps catalog order, drops duplicates."""
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v).strip() for v in value]
    items = [v for v in items if v]
    if not items:
        raise UsageError(f"{source}: the service list is empty", hint=f"name at least one of: {', '.join(USER_SERVICES)}")
    for item in items:
        if item not in USER_SERVICES:
            raise UsageError(
                f"{source}: unknown service {item!r}{suggest(item, USER_SERVICES)}",
                hint=f"services are: {', '.join(USER_SERVICES)}",
            )
    return tuple(n for n in USER_SERVICES if n in items)


def with_internal(services: tuple[str, ...]) -> tuple[str, ...]:
    """The services actually started: the sink comes with Alertmanager (it is its receiver)."""
    extra = ("notify-sink",) if "alertmanager" in services else ()
    return services + extra
