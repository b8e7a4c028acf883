"""Stack orchestration over the Runtime protocol: up, down, status, logs, URLs.

Everything both runtimes share lives here: choosing the runtime, rendering, the port
preflight, the project lock, waiting for readiness, and tearing down what a failed or
interrupted ``up`` started.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import requests

from stackctl.config import Config
from stackctl.errors import EngineError, PortInUseError, ServiceUnhealthyError, StackctlError, UsageError
from stackctl.state.health import HttpProbe, Probe, Progress, RedisProbe, wait_healthy
from stackctl.state.ports import port_free, port_holder
from stackctl.render.configs import connect_host, render
from stackctl.byo.rules_check import check_config_rules
from stackctl.install.obtain import OnStep, Step
from stackctl.runtime.base import RawState, Runtime
from stackctl.proc import deferred_interrupts
from stackctl.services import SERVICES, with_internal
from stackctl.state import seeder
from stackctl.state.dirs import claim_state_dir, ensure_dir, project_lock, read_json, write_json

log = logging.getLogger("stackctl.stack.orchestrator")
ProgressFn = Callable[[list[Progress]], None]


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    state: str  # healthy | unhealthy | starting | stopped | absent
    url: str
    detail: str = ""

    def public(self) -> dict[str, str]:
        return {"service": self.service, "state": self.state, "url": self.url}


@dataclass(frozen=True)
class RuntimeChoice:
    runtime: Runtime
    reason: str


def _docker() -> Runtime:
    from stackctl.runtime.compose import DockerRuntime

    return DockerRuntime()


def _native() -> Runtime:
    from stackctl.runtime.native import NativeRuntime

    return NativeRuntime()


def choose_runtime(cfg: Config) -> RuntimeChoice:
    """docker/native as asked; ``auto``: the runtime already running this project, else docker
    when an engine answers, else native."""
    if cfg.runtime == "native":
        return RuntimeChoice(_native(), f"runtime native requested ({cfg.sources.get('runtime', 'default')})")
    docker = _docker()
    if cfg.runtime == "docker":
        ok, why = docker.available()
        if not ok:
            raise EngineError(f"the docker runtime is not usable: {why}", hint="start Docker, fix DOCKER_HOST, or use --runtime native")
        return RuntimeChoice(docker, f"runtime docker requested ({cfg.sources.get('runtime', 'default')})")
    recorded = (read_json(cfg.state_dir / "stack.json") or {}).get("runtime")
    if recorded in ("docker", "native"):
        chosen = docker if recorded == "docker" else _native()
        if chosen.running_services(cfg):
            return RuntimeChoice(chosen, f"auto: this project is already running on {recorded}")
    ok, why = docker.available()
    if ok:
        return RuntimeChoice(docker, f"auto: a Docker engine answers ({why})")
    return RuntimeChoice(_native(), f"auto: no Docker engine answers ({why}), using native processes")


def explain_choice(cfg: Config) -> RuntimeChoice:
    """`stackctl config`'s answer: the runtime `up` would use and why, without pulling anything."""
    choice = choose_runtime(cfg)
    if cfg.runtime != "auto" or choice.runtime.name != "docker" or choice.runtime.running_services(cfg):
        return choice
    from stackctl.runtime.compose import image_present

    absent = [s for s in cfg.services if not image_present(cfg.images[s])]
    if absent and len(absent) == len(cfg.services):
        return RuntimeChoice(choice.runtime, choice.reason + "; none of the stack's images is present: `up` pulls them, "
                             "and falls back to native processes if it cannot")
    return choice


def probe_for(cfg: Config, service: str, timeout: float = 1.0) -> Probe:
    spec = SERVICES[service]
    host, port = connect_host(cfg), cfg.port(service)
    if spec.probe == "redis":
        return RedisProbe(host, port, cfg.redis_password, timeout=timeout)
    return HttpProbe(f"http://{host}:{port}{spec.health_path}", timeout=timeout)


def recorded(cfg: Config) -> Config:
    """``cfg`` with the ports the last `up` used, where the user did not set one now.

    A stack started with other ports (a kept pytest stack, `up` with flags) is then found by
    `status`, `seed` and `verify` from its state dir alone.
    """
    ports = (read_json(cfg.state_dir / "stack.json") or {}).get("ports")
    if not isinstance(ports, dict):
        return cfg
    merged = dict(cfg.ports)
    for service, port in ports.items():
        if service in merged and f"ports.{service}" not in cfg.sources and isinstance(port, int):
            merged[service] = port
    return cfg.with_(ports=merged)


def service_urls(cfg: Config) -> dict[str, str]:
    """Base URL of every service of the stack (redis as redis://host:port)."""
    cfg = recorded(cfg)
    return {s: cfg.url(s) for s in stack_services(cfg)}


def _select(cfg: Config, services: tuple[str, ...] | None) -> tuple[str, ...]:
    chosen = services or cfg.services
    unknown = [s for s in chosen if s not in SERVICES]
    if unknown:
        raise UsageError(f"unknown service {unknown[0]!r}")
    return with_internal(tuple(chosen))


def _check_ports(cfg: Config, services: tuple[str, ...], running: tuple[str, ...]) -> None:
    for service in services:
        if service in running:
            continue
        port = cfg.port(service)
        if not port_free(cfg.bind, port):
            holder = port_holder(port)
            var = f"STACKCTL_PORT_{service.upper().replace('-', '_')}"
            raise PortInUseError(
                f"port {port} on {cfg.bind} is already taken{f' by {holder}' if holder else ''}; {service} needs it",
                hint=f"stop that process, or give {service} another port: {var}={port + 10000} or ports.{service} in stackctl.yaml",
            )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM during `up` cleans up exactly like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass(frozen=True)
class Plan:
    """What `up` will run: the runtime, why, the services, and what it leaves out (and why)."""

    runtime: Runtime
    reason: str
    services: tuple[str, ...]
    left_out: dict[str, StackctlError]


def plan(cfg: Config, services: tuple[str, ...] | None = None, *, leave_out: bool | None = None,
         on_message: Callable[[str], None] = lambda _m: None, on_install: OnStep | None = None) -> Plan:
    """Choose the runtime and the services this machine can actually run.

    ``leave_out``: drop services whose binary/image is missing instead of failing. Default: only
    when the user did not name the services (the default list); a named service is an error.
    ``on_install``: on the native runtime, obtain missing binaries first (unless ``cfg.install``
    is off), reporting progress here.
    """
    wanted = _select(cfg, services)
    choice = choose_runtime(cfg)
    runtime, reason = choice.runtime, choice.reason
    core = [s for s in wanted if not SERVICES[s].internal]
    if cfg.runtime == "auto" and runtime.name == "docker" and not runtime.running_services(cfg):
        if set(runtime.missing(cfg, wanted, on_message)) >= set(core):
            native = _native()
            if len(native.missing(cfg, wanted)) < len(core) or (on_install is not None and _can_obtain(cfg)):
                runtime, reason = native, "auto: Docker has none of the stack's images and cannot pull them; using native processes"
    if leave_out is None:
        leave_out = services is None and cfg.sources.get("services") == "default"
    failed = _obtain(cfg, runtime, wanted, on_install)
    if failed and not leave_out:
        raise next(iter(failed.values()))
    missing = {**runtime.missing(cfg, wanted, on_message), **failed} if leave_out else {}
    kept = tuple(s for s in core if s not in missing)
    if missing and not kept:
        raise next(iter(missing.values()))
    return Plan(runtime, reason, with_internal(kept) if leave_out else wanted, missing)


def _can_obtain(cfg: Config) -> bool:
    from stackctl.stack.binaries import can_obtain

    return can_obtain(cfg)


def _obtain(cfg: Config, runtime: Runtime, wanted: tuple[str, ...], on_install: OnStep | None) -> dict[str, StackctlError]:
    if on_install is None or runtime.name != "native" or not cfg.install:
        return {}
    from stackctl.stack.binaries import obtain_missing

    return obtain_missing(cfg, wanted, on_install)


def up(
    cfg: Config,
    services: tuple[str, ...] | None = None,
    *,
    timeout: float | None = None,
    keep_on_failure: bool = False,
    leave_out: bool | None = None,
    on_progress: ProgressFn = lambda _p: None,
    on_message: Callable[[str], None] = lambda _m: None,
    on_install: OnStep | None = None,
) -> list[ServiceStatus]:
    """Render, start and wait until every requested service is ready.

    On failure or interruption, the services this call started are stopped again (unless
    ``keep_on_failure``); services that were already running are left alone.
    """
    timeout = timeout or cfg.timeout
    claim_state_dir(cfg.state_dir)
    with project_lock(cfg.state_dir, wait=0, what="up"):
        chosen = plan(cfg, services, leave_out=leave_out, on_message=on_message, on_install=on_install or _install_messages(on_message))
        runtime, wanted = chosen.runtime, chosen.services
        on_message(f"runtime: {runtime.name} ({chosen.reason})")
        for service, error in chosen.left_out.items():
            on_message(f"warning: leaving out {service}: {error.message}\n  hint: {error.hint}")
        running = runtime.running_services(cfg)
        _check_ports(cfg, wanted, running)
        warning = check_config_rules(cfg, runtime.name)  # a rule file promtool rejects starts nothing
        if warning:
            on_message(f"warning: {warning}")
        for problem in render(cfg, runtime.name).warnings:  # what Grafana/Alertmanager would reject raises here
            on_message(f"warning: {problem}")
        runtime.prepare(cfg, wanted)
        write_json(cfg.state_dir / "stack.json", {
            "runtime": runtime.name, "services": list(wanted), "project": cfg.project, "updated": time.time(),
            "ports": {s: cfg.port(s) for s in wanted},
        })
        started = tuple(s for s in wanted if s not in running)
        with _sigterm_as_interrupt():
            try:
                runtime.start(cfg, wanted)
                _reload(cfg, tuple(s for s in wanted if s in running))
                _wait(cfg, runtime, wanted, timeout, on_progress)
            except (Exception, KeyboardInterrupt):
                if not keep_on_failure and started:
                    on_message(f"cleaning up: stopping {', '.join(started)}")
                    with deferred_interrupts():  # a second Ctrl-C waits for the cleanup to finish
                        runtime.stop(cfg, started, volumes=False)
                raise
    return status(cfg, runtime)


def _install_messages(on_message: Callable[[str], None]) -> OnStep:
    def step(s: Step) -> None:
        if s.state in ("installed", "failed"):
            on_message(f"{s.service}: {s.state} {s.detail}")
    return step


def _reload(cfg: Config, services: tuple[str, ...]) -> None:
    """Services that were already running re-read their rendered configs."""
    for service in services:
        if service in ("prometheus", "alertmanager"):
            try:
                requests.post(f"{cfg.url(service)}/-/reload", timeout=10).raise_for_status()
            except requests.RequestException as exc:
                body = exc.response.text.strip() if exc.response is not None else ""  # the service says why, e.g. a bad field
                raise StackctlError(f"{service} did not reload its configuration: {exc}" + (f"\n  {body}" if body else ""),
                                    hint=f"check `stackctl logs {service}`") from None


def _wait(cfg: Config, runtime: Runtime, services: tuple[str, ...], timeout: float, on_progress: ProgressFn) -> None:
    probes = {s: probe_for(cfg, s) for s in services}
    outcome = wait_healthy(probes, timeout, exited=lambda s: runtime.exited(cfg, s), on_update=on_progress)
    if outcome.failed:
        raise _unhealthy_error(cfg, runtime, outcome.failed[0], timeout)


def _unhealthy_error(cfg: Config, runtime: Runtime, prog: Progress, timeout: float) -> ServiceUnhealthyError:
    if prog.state == "exited":
        return ServiceUnhealthyError(
            f"{prog.service} exited during startup: {prog.detail}",
            hint=f"see `stackctl logs {prog.service}`; fix the cause, or leave it out with --services",
        )
    try:
        tail = "\n".join(runtime.logs(cfg, prog.service, 20, False))
    except StackctlError:
        tail = ""
    return ServiceUnhealthyError(
        f"{prog.service} did not become healthy within {timeout:.0f}s: probe {prog.probe} -> {prog.detail}"
        + (f"\nlast log lines of {prog.service}:\n{tail}" if tail else ""),
        hint=f"raise --timeout, or check `stackctl logs {prog.service}`; --keep-on-failure leaves it running to debug",
    )


def down(cfg: Config, volumes: bool = False) -> list[str]:
    """Stop every service of the project on whichever runtime runs it; idempotent."""
    ensure_dir(cfg.state_dir)
    with project_lock(cfg.state_dir, wait=30, what="down"):
        stopped: list[str] = []
        if seeder.stop(cfg.state_dir)["stopped"]:
            stopped.append("seeder")
        for runtime in _runtimes_for_down(cfg):
            stopped += runtime.stop(cfg, None, volumes)
        return stopped


def _runtimes_for_down(cfg: Config) -> list[Runtime]:
    if cfg.runtime == "native":
        return [_native()]
    docker = _docker()
    if cfg.runtime == "docker":
        return [docker]
    # auto: clean both, so `down` works even when the state dir is gone or was never written
    return [_native(), docker] if docker.available()[0] else [_native()]


def stack_services(cfg: Config) -> tuple[str, ...]:
    """The services of the last `up` (when the user did not name services now)."""
    recorded = (read_json(cfg.state_dir / "stack.json") or {}).get("services")
    if cfg.sources.get("services") == "default" and isinstance(recorded, list) and recorded:
        return tuple(s for s in recorded if s in SERVICES)
    return with_internal(cfg.services)


def status(cfg: Config, runtime: Runtime | None = None) -> list[ServiceStatus]:
    cfg = recorded(cfg)
    runtime = runtime or choose_runtime(cfg).runtime
    services = stack_services(cfg)
    return [_combine(cfg, raw) for raw in runtime.raw_status(cfg, services)]


def _combine(cfg: Config, raw: RawState) -> ServiceStatus:
    url = cfg.url(raw.service)
    if raw.state != "running":
        return ServiceStatus(raw.service, raw.state, url, raw.detail)
    # one look, not a polling loop: give a loaded machine time to answer
    result = probe_for(cfg, raw.service, timeout=5.0).check()
    if result.ok:
        return ServiceStatus(raw.service, "healthy", url, raw.detail)
    state = raw.health if raw.health in ("starting", "unhealthy") else "unhealthy"
    return ServiceStatus(raw.service, state, url, result.detail)


def logs(cfg: Config, service: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
    if service not in SERVICES:
        from stackctl.services import get_service

        get_service(service)
    return choose_runtime(cfg).runtime.logs(cfg, service, tail, follow)




def credentials(cfg: Config) -> dict[str, dict[str, str]]:
    """Logins of the stack's services (shown only on request: `stackctl urls --show-password`)."""
    from stackctl.state.dirs import secret

    out = {"grafana": {"user": "admin", "password": secret(cfg.state_dir, "grafana_admin_password")}}
    if cfg.redis_password:
        out["redis"] = {"user": "default", "password": cfg.redis_password}
    return out
