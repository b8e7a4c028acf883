"""A running stack for tests: start it isolated, query it, seed it, wait for alerts.

This is the core behind the pytest plugin's ``observability_stack`` fixture, usable without
pytest too (``with TestStack.start(...) as stack:``). Every stack gets a unique project name,
free ports and its own state dir, so two test sessions (or xdist workers) never collide.
"""

from __future__ import annotations

import atexit
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote

import requests

from stackctl.stack import orchestrator as stack
from stackctl.config import Config, ScrapeTarget, load_config
from stackctl.errors import PortInUseError, StackctlError, UsageError
from stackctl.state.ports import free_ports
from stackctl.services import SERVICES, USER_SERVICES, with_internal

_COMPARISON = re.compile(r"^(?P<lhs>.*?)\s*(?:>|<|>=|<=|==|!=)\s*(?:bool\s+)?[-+0-9.eE]+\s*$", re.S)


class AlertTimeout(AssertionError):
    """An awaited alert did not reach its state; the message carries what it was instead."""


@dataclass
class TestStack:
    __test__ = False  # not a pytest test class, despite the name
    cfg: Config
    left_out: dict[str, str] = field(default_factory=dict)
    runtime: str = ""
    last_scenario: str | None = None  # what seed() wrote last: the report draws its packs
    _stopped: bool = False

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        state_root: Path,
        *,
        runtime: str = "auto",
        services: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        on_message: Callable[[str], None] = lambda _m: None,
    ) -> "TestStack":
        """Start every requested service this machine can provide; report the rest in ``left_out``."""
        wanted = tuple(services) if services else USER_SERVICES
        for _attempt in range(3):  # a free port can be taken between choosing it and binding it
            cfg = _isolated_config(state_root, runtime, wanted, env)
            chosen = stack.plan(cfg, cfg.services, leave_out=True)
            cfg = cfg.with_(runtime=chosen.runtime.name, services=tuple(s for s in chosen.services if s in USER_SERVICES))
            try:
                stack.up(cfg, cfg.services, timeout=timeout, on_message=on_message, leave_out=False)
            except PortInUseError:
                continue
            left_out = {s: f"{e.message} ({e.hint})" if e.hint else e.message for s, e in chosen.left_out.items()}
            handle = cls(cfg, left_out, chosen.runtime.name)
            atexit.register(handle.stop)  # a safety net if the session dies before teardown
            return handle
        raise StackctlError("could not find free ports for the test stack after 3 attempts")

    def stop(self, keep: bool = False) -> None:
        """Tear down (data included); with ``keep``, leave it running for good (atexit too)."""
        if self._stopped:
            return
        self._stopped = True
        if not keep:
            stack.down(self.cfg, volumes=True)

    def __enter__(self) -> "TestStack":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------------
    def url(self, service: str) -> str:
        if service not in with_internal(self.cfg.services):
            why = self.left_out.get(service, "it is not part of this stack")
            raise UsageError(f"{service} is not running in this stack: {why}")
        return self.cfg.url(service)

    def app_host(self) -> str:
        """Where an app under test should listen so this stack's Prometheus can scrape it.

        Native: 127.0.0.1. Docker: containers reach the host as host.docker.internal, which on a
        Linux engine is the host's bridge address (not loopback), so listen there.
        """
        if self.runtime != "docker":
            return "127.0.0.1"
        from stackctl.runtime.compose import bridge_gateway

        return bridge_gateway() or "0.0.0.0"

    def has(self, service: str) -> bool:
        return service in self.cfg.services

    # -- Prometheus -----------------------------------------------------------------------
    def query(self, promql: str, at: float | None = None) -> Any:
        """Instant query: a float for a scalar or a one-sample vector, the full result otherwise."""
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = at
        data = self._prom("/api/v1/query", params)
        result, kind = data["result"], data["resultType"]
        if kind == "scalar":
            return float(result[1])
        if kind == "vector" and len(result) == 1:
            return float(result[0]["value"][1])
        return result

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return list(self._prom("/api/v1/query_range", {"query": promql, "start": start, "end": end, "step": step})["result"])

    def _prom(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        resp = requests.get(self.url("prometheus") + path, params=params, timeout=30)
        body = resp.json()
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus rejected {params.get('query')!r}: {body.get('error')}")
        return dict(body["data"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._prom("/api/v1/alerts", {})["alerts"])

    def wait_for_alert(self, name: str, state: str = "firing", timeout: float = 60, interval: float = 1.0) -> dict[str, Any]:
        """Wait until alert ``name`` is ``state`` (pending is satisfied by firing too)."""
        if state not in ("pending", "firing"):
            raise ValueError(f"state must be 'pending' or 'firing', not {state!r}")
        accepted = {"pending", "firing"} if state == "pending" else {"firing"}
        deadline = time.monotonic() + timeout
        while True:
            found = [a for a in self.alerts() if a["labels"].get("alertname") == name]
            for alert in found:
                if alert["state"] in accepted:
                    return alert
            if time.monotonic() >= deadline:
                raise AlertTimeout(self._alert_report(name, state, timeout, found))
            time.sleep(interval)

    def _alert_report(self, name: str, state: str, timeout: float, found: list[dict[str, Any]]) -> str:
        current = ", ".join(sorted({a["state"] for a in found})) or "inactive"
        expr = self._rule_expr(name)
        if expr is None:
            return f"alert {name} did not become {state} within {timeout:.0f}s: no alerting rule named {name} is loaded"
        value = self._expression_value(expr)
        return f"alert {name} did not become {state} within {timeout:.0f}s: it is {current}; expr `{expr.strip()}` -> {value}"

    def _rule_expr(self, name: str) -> str | None:
        for group in self._prom("/api/v1/rules", {"type": "alert"})["groups"]:
            for rule in group["rules"]:
                if rule["name"] == name:
                    return str(rule["query"])
        return None

    def _expression_value(self, expr: str) -> str:
        """The value of the alert's left-hand side now, so a failure shows how far off it is."""
        match = _COMPARISON.match(expr.strip())
        lhs = match.group("lhs") if match else expr
        try:
            result = self.query(lhs)
        except AssertionError as exc:
            return str(exc)
        return "no data" if result == [] else str(result)

    # -- seeding, logs, redis, scrape targets ---------------------------------------------------
    def seed(self, scenario: str, history: str = "30m", duration: float | None = None, random_seed: int | None = None) -> Any:
        """Write ``history`` now; with ``duration`` seconds, keep seeding live that long (blocking)."""
        from stackctl.seeding.catalog import load_scenario
        from stackctl.seeding.engine import SeedTargets, seed
        from stackctl.seeding.scenario import parse_duration

        targets = SeedTargets(
            prometheus_url=self.cfg.url("prometheus") if self.has("prometheus") else None,
            loki_url=self.cfg.url("loki") if self.has("loki") else None,
            redis_url=self.redis_url() if self.has("redis") else None,
        )
        span = timedelta(seconds=parse_duration(history))
        self.last_scenario = scenario
        return seed(load_scenario(scenario), targets, span, duration=duration if duration is not None else 0, random_seed=random_seed)

    def redis_url(self) -> str:
        """``redis://[:password@]127.0.0.1:<port>/0`` of this stack's Redis."""
        auth = f":{quote(self.cfg.redis_password, safe='')}@" if self.cfg.redis_password else ""
        return f"redis://{auth}127.0.0.1:{self.cfg.port('redis')}/0"

    def redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis_url(), decode_responses=True)

    def push_logs(self, labels: Mapping[str, str], lines: Iterable[str]) -> None:
        now = time.time_ns()
        values = [[str(now + i), line] for i, line in enumerate(lines)]
        body = {"streams": [{"stream": dict(labels), "values": values}]}
        resp = requests.post(self.url("loki") + "/loki/api/v1/push", json=body, timeout=30)
        if resp.status_code >= 300:
            raise AssertionError(f"Loki rejected the push: HTTP {resp.status_code}: {resp.text[:300]}")

    def query_logs(self, logql: str, since: float = 3600) -> list[dict[str, Any]]:
        now = time.time_ns()
        params: dict[str, str | int] = {"query": logql, "start": now - int(since * 1e9), "end": now, "limit": 5000}
        resp = requests.get(self.url("loki") + "/loki/api/v1/query_range", params=params, timeout=30)
        body = resp.json()
        if body.get("status") != "success":
            raise AssertionError(f"Loki rejected {logql!r}: {body}")
        return list(body["data"]["result"])

    def add_scrape_target(self, host_port: str, job: str | None = None, path: str = "/metrics", timeout: float = 30) -> None:
        """Have Prometheus scrape ``host_port`` (e.g. the app under test) and wait until it is up."""
        target = ScrapeTarget(target=host_port, job=job, path=path, interval="1s")
        self.cfg = self.cfg.with_(scrape=(*self.cfg.scrape, target))
        stack.up(self.cfg, self.cfg.services, timeout=60)
        self._wait_target(job or f"app-{host_port.replace(':', '-')}", timeout)

    def _wait_target(self, job: str, timeout: float) -> None:
        deadline, last = time.monotonic() + timeout, "not discovered yet"
        while time.monotonic() < deadline:
            for t in self._prom("/api/v1/targets", {})["activeTargets"]:
                if t["labels"].get("job") == job:
                    if t["health"] == "up":
                        return
                    last = f"{t['health']}: {t.get('lastError') or 'no scrape yet'}"
            time.sleep(0.5)
        raise AssertionError(f"scrape target {job} is not up after {timeout:.0f}s ({last})")

    def summary(self) -> str:
        urls = ", ".join(f"{s} {self.cfg.url(s)}" for s in self.cfg.services)
        out = f"stackctl {self.runtime} stack {self.cfg.project}: {urls}"
        if self.left_out:
            out += "; left out: " + "; ".join(f"{s} ({why})" for s, why in self.left_out.items())
        return out


def _isolated_config(state_root: Path, runtime: str, services: tuple[str, ...], env: Mapping[str, str] | None) -> Config:
    project = f"pytest-{uuid.uuid4().hex[:10]}"
    base = dict(os.environ if env is None else env)
    for key in [k for k in base if k.startswith("STACKCTL_PORT_")]:
        del base[key]
    ports = dict(zip(SERVICES, free_ports(len(SERVICES))))
    return load_config(
        env=base,
        cwd=state_root,
        flags={"project": project, "runtime": runtime, "services": list(services), "ports": ports,
               "state_dir": str(state_root / project)},
    )
