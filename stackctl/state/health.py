"""Readiness probes run from the host, and the one wait loop every runtime uses.

Health means ready, not "started": Prometheus/Alertmanager/Pushgateway ``/-/ready``, Grafana
``/api/health``, Loki ``/ready``, Redis ``PING``. Only declared transient failures (refused
connections, timeouts, non-2xx while starting) are retried; the loop says which service and
which probe timed out.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol

log = logging.getLogger("stackctl.state.health")


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


class Probe(Protocol):
    description: str

    def check(self) -> ProbeResult: ...


@dataclass
class HttpProbe:
    url: str
    timeout: float = 1.0
    description: str = ""

    def __post_init__(self) -> None:
        self.description = self.description or f"GET {self.url}"

    def check(self) -> ProbeResult:
        import requests  # lazily: commands that probe nothing start fast

        try:
            resp = requests.get(self.url, timeout=self.timeout)
        except requests.ConnectionError:
            return ProbeResult(False, "connection refused")
        except requests.Timeout:
            return ProbeResult(False, f"no answer within {self.timeout:.0f}s")
        except requests.RequestException as exc:
            return ProbeResult(False, str(exc))
        if 200 <= resp.status_code < 300:
            return ProbeResult(True, f"HTTP {resp.status_code}")
        return ProbeResult(False, f"HTTP {resp.status_code}: {resp.text.strip()[:120]}")


@dataclass
class RedisProbe:
    host: str
    port: int
    password: str | None = None
    timeout: float = 1.0
    description: str = ""

    def __post_init__(self) -> None:
        self.description = self.description or f"redis PING {self.host}:{self.port}"

    def check(self) -> ProbeResult:
        import redis  # redis-py, lazily: it is heavy to import and only `up`/`status` probe

        client = redis.Redis(host=self.host, port=self.port, password=self.password or None,
                             socket_timeout=self.timeout, socket_connect_timeout=self.timeout)
        try:
            client.ping()
        except redis.AuthenticationError:
            return ProbeResult(False, "AUTH rejected")
        except redis.ResponseError as exc:
            text = str(exc)
            return ProbeResult(False, "AUTH required (NOAUTH)" if "NOAUTH" in text or "Authentication" in text else text[:120])
        except redis.TimeoutError:
            return ProbeResult(False, f"no answer within {self.timeout:.0f}s")
        except redis.ConnectionError as exc:
            return ProbeResult(False, _reason(exc))
        except redis.RedisError as exc:
            return ProbeResult(False, str(exc)[:120])
        finally:
            client.close()
        return ProbeResult(True, "PONG")


def _reason(exc: Exception) -> str:
    text = str(exc)
    return "connection refused" if "refused" in text.lower() else text[:120]


@dataclass
class Progress:
    service: str
    state: str = "starting"  # starting | healthy | unhealthy | exited
    elapsed: float = 0.0
    detail: str = ""
    probe: str = ""


@dataclass
class WaitOutcome:
    progress: dict[str, Progress] = field(default_factory=dict)

    @property
    def failed(self) -> list[Progress]:
        return [p for p in self.progress.values() if p.state != "healthy"]


def wait_healthy(
    probes: Mapping[str, Probe],
    timeout: float,
    *,
    exited: Callable[[str], str | None] = lambda _s: None,
    on_update: Callable[[list[Progress]], None] = lambda _p: None,
    interval: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitOutcome:
    """Poll every probe until all pass, one exits, or ``timeout`` seconds pass.

    ``exited(service)`` returns a message when the service's process/container is gone, which
    ends the wait for it at once instead of at the timeout.
    """
    start = clock()
    outcome = WaitOutcome({s: Progress(s, probe=p.description) for s, p in probes.items()})
    while True:
        now = clock() - start
        for service, probe in probes.items():
            prog = outcome.progress[service]
            if prog.state in ("healthy", "exited"):
                continue
            prog.elapsed = now
            result = probe.check()
            prog.detail = result.detail
            if result.ok:
                prog.state = "healthy"
                continue
            gone = exited(service)
            if gone:
                prog.state, prog.detail = "exited", gone
        on_update(list(outcome.progress.values()))
        pending = [p for p in outcome.progress.values() if p.state == "starting"]
        if not pending:
            return outcome
        if clock() - start >= timeout:
            for p in pending:
                p.state = "unhealthy"
            on_update(list(outcome.progress.values()))
            return outcome
        sleep(interval)
