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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from stackctl.config import Config
from stackctl.errors import ServiceUnhealthyError, StackctlError, UsageError
from stackctl.proc import deferred_interrupts
from stackctl.runtime.base import RawState, Runtime
from stackctl.services import SERVICES, with_internal
from stackctl.stack import preflight
from stackctl.stack import runtime_choice as rt
from stackctl.stack.attach import (
    ServiceStatus,
    _with_record,
    absent,
    attached,
    credentials,
    is_running,
    service_urls,
    stack_services,
)
from stackctl.stack.runtime_choice import RuntimeChoice, choose_runtime, explain_choice, probe_for
from stackctl.state import record
from stackctl.state.dirs import claim_state_dir, ensure_dir, project_lock, remove_state_dir
from stackctl.state.health import Probe, ProbeResult, Progress, wait_healthy
from stackctl.state.record import StackRecord

if TYPE_CHECKING:
    from stackctl.install.obtain import OnStep, Step

__all__ = ["attached", "credentials", "is_running", "service_urls", "stack_services", "up", "down", "status", "logs", "plan",
           "RuntimeChoice", "choose_runtime", "explain_choice", "probe_for"]

log = logging.getLogger("stackctl.stack.orchestrator")
ProgressFn = Callable[[list[Progress]], None]


def _select(cfg: Config, services: tuple[str, ...] | None) -> tuple[str, ...]:
    chosen = services or cfg.services
    unknown = [s for s in chosen if s not in SERVICES]
    if unknown:
        raise UsageError(f"unknown service {unknown[0]!r}")
    return with_internal(tuple(chosen))


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
    choice = rt.choose_runtime(cfg)
    runtime, reason = choice.runtime, choice.reason
    core = [s for s in wanted if not SERVICES[s].internal]
    if cfg.runtime == "auto" and runtime.name == "docker" and not runtime.running_services(cfg):
        if set(runtime.missing(cfg, wanted, on_message)) >= set(core):
            native = rt.native_runtime()
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
    replace_config: bool = False,
    on_progress: ProgressFn = lambda _p: None,
    on_message: Callable[[str], None] = lambda _m: None,
    on_install: OnStep | None = None,
) -> list[ServiceStatus]:
    """Render, start and wait until every requested service is ready, then record the stack.

    On failure or interruption, the services this call started are stopped again (unless
    ``keep_on_failure``); services that were already running are left alone, and the record of
    the running stack is only rewritten once everything is ready.
    """
    from stackctl.byo.rules_check import check_config_rules
    from stackctl.render.configs import render

    timeout = timeout or cfg.timeout
    claim_state_dir(cfg.state_dir)
    with project_lock(cfg.state_dir, wait=0, what="up"):
        previous = record.load(cfg.state_dir)
        live = previous if previous is not None and previous.running else None
        preflight.check_config_change(cfg, live, replace_config, on_message)
        chosen = plan(cfg, services, leave_out=leave_out, on_message=on_message,
                      on_install=on_install or _install_messages(on_message))
        runtime, wanted = chosen.runtime, chosen.services
        on_message(f"runtime: {runtime.name} ({chosen.reason})")
        for service, error in chosen.left_out.items():
            on_message(f"warning: leaving out {service}: {error.message}\n  hint: {error.hint}")
        running = runtime.running_services(cfg)
        preflight.check_runtime_switch(cfg, _live_runtime(cfg, live, runtime), runtime.name)
        preflight.check_ports(cfg, wanted, running, ours=lambda pid: _project_pid(cfg, pid))
        warning = check_config_rules(cfg, runtime.name)  # a rule file promtool rejects starts nothing
        if warning:
            on_message(f"warning: {warning}")
        for problem in render(cfg, runtime.name).warnings:  # what Grafana/Alertmanager would reject raises here
            on_message(f"warning: {problem}")
        runtime.prepare(cfg, wanted)
        started = tuple(s for s in wanted if s not in running)
        with _sigterm_as_interrupt():
            try:
                runtime.start(cfg, wanted)
                _reload(cfg, tuple(s for s in wanted if s in running))
                _wait(cfg, runtime, wanted, timeout, on_progress)
                record.save(cfg.state_dir, _new_record(cfg, runtime.name, wanted, previous))
            except (Exception, KeyboardInterrupt):
                if not keep_on_failure and started:
                    with deferred_interrupts():  # a second Ctrl-C (even right after the message) waits for the cleanup
                        on_message(f"cleaning up: stopping {', '.join(started)}")
                        runtime.stop(cfg, started, volumes=False)
                raise
    return status(cfg, runtime)


def _new_record(cfg: Config, runtime: str, services: tuple[str, ...], previous: StackRecord | None) -> StackRecord:
    """The record of the stack `up` just made ready; the seeded scenario survives (data is kept)."""
    now = time.time()
    return StackRecord(
        project=cfg.project, runtime=runtime, services=services, ports={s: cfg.port(s) for s in services},
        bind=cfg.bind, config_file=preflight.config_file_of(cfg), config_dir=str(Path.cwd()),
        inputs=preflight.inputs_of(cfg), scenario=previous.scenario if previous is not None else None,
        running=True, started_at=previous.started_at if previous is not None and previous.running else now,
    )


def _live_runtime(cfg: Config, live: StackRecord | None, chosen: Runtime) -> str | None:
    """The runtime this project runs on now, if another than ``chosen`` really has it running."""
    other = rt.docker_runtime() if chosen.name == "native" else rt.native_runtime()
    if live is not None and live.runtime == other.name and other.running_services(cfg):
        return other.name
    if chosen.name == "docker" and rt.native_runtime().running_services(cfg):  # a record lost: native marks still tell
        return "native"
    return None


def _project_pid(cfg: Config, pid: int) -> bool:
    """Is ``pid`` one of this project's native processes (or their children)?"""
    from stackctl.runtime import pids

    for rec in pids.find_owned(cfg.state_dir, {n: s for s, spec in SERVICES.items() for n in spec.binaries}).values():
        if pid in pids.tree_pids(rec):
            return True
    return False


def _install_messages(on_message: Callable[[str], None]) -> OnStep:
    def step(s: Step) -> None:
        if s.state in ("installed", "failed"):
            on_message(f"{s.service}: {s.state} {s.detail}")
    return step


def _reload(cfg: Config, services: tuple[str, ...]) -> None:
    """Services that were already running re-read their rendered configs."""
    import requests

    for service in services:
        if service in ("prometheus", "alertmanager"):
            try:
                requests.post(f"{cfg.url(service)}/-/reload", timeout=10).raise_for_status()
            except requests.RequestException as exc:
                body = exc.response.text.strip() if exc.response is not None else ""  # the service says why, e.g. a bad field
                raise StackctlError(f"{service} did not reload its configuration: {exc}" + (f"\n  {body}" if body else ""),
                                    hint=f"check `stackctl logs {service}`") from None


@dataclass
class _OursProbe:
    """A readiness probe that passes only when the process answering is the one we started:
    two projects racing for one port must not both see the winner's server as their own."""

    inner: Probe
    foreign: Callable[[], str | None]
    description: str = ""

    def __post_init__(self) -> None:
        self.description = self.inner.description

    def check(self) -> ProbeResult:
        result = self.inner.check()
        if not result.ok:
            return result
        other = self.foreign()
        return ProbeResult(False, other) if other else result


def _wait(cfg: Config, runtime: Runtime, services: tuple[str, ...], timeout: float, on_progress: ProgressFn) -> None:
    probes: dict[str, Probe] = {s: _OursProbe(rt.probe_for(cfg, s), partial(runtime.foreign_listener, cfg, s)) for s in services}
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
    from stackctl.state import seeder

    ensure_dir(cfg.state_dir)
    with project_lock(cfg.state_dir, wait=30, what="down"):
        stopped: list[str] = []
        if seeder.stop(cfg.state_dir)["stopped"]:
            stopped.append("seeder")
        for runtime in _runtimes_for_down(cfg):
            stopped += runtime.stop(cfg, None, volumes)
        if volumes:
            remove_state_dir(cfg.state_dir)  # every file of the project: data, record, seeder status
        else:
            record.mark_stopped(cfg.state_dir)
        return stopped


def _runtimes_for_down(cfg: Config) -> list[Runtime]:
    if cfg.runtime == "native":
        return [rt.native_runtime()]
    docker = rt.docker_runtime()
    if cfg.runtime == "docker":
        return [docker]
    # auto: clean both, so `down` works even when the state dir is gone or was never written
    return [rt.native_runtime(), docker] if docker.available()[0] else [rt.native_runtime()]


def status(cfg: Config, runtime: Runtime | None = None) -> list[ServiceStatus]:
    """Each service's state. Without a running record: what the configured runtime still has
    (native processes are found by their marks), every service absent when nothing is there."""
    rec = record.load(cfg.state_dir)
    services = stack_services(cfg)
    if rec is not None:  # running, or taken down: its ports and services, not the defaults
        cfg = _with_record(cfg, rec)
        if cfg.sources.get("services") == "default" and rec.services:
            services = rec.services
    if runtime is None and cfg.state_dir.exists():
        runtime = rt.docker_runtime() if cfg.runtime == "docker" else rt.native_runtime()  # auto, not running: orphans only native
    if runtime is None:  # nothing of this project on this machine
        return absent(cfg) or []
    return [_combine(cfg, raw) for raw in runtime.raw_status(cfg, services)]


def _combine(cfg: Config, raw: RawState) -> ServiceStatus:
    url = cfg.url(raw.service)
    if raw.state != "running":
        return ServiceStatus(raw.service, raw.state, url, raw.detail)
    # one look, not a polling loop: give a loaded machine time to answer
    result = rt.probe_for(cfg, raw.service, timeout=5.0).check()
    if result.ok:
        return ServiceStatus(raw.service, "healthy", url, raw.detail)
    state = raw.health if raw.health in ("starting", "unhealthy") else "unhealthy"
    return ServiceStatus(raw.service, state, url, result.detail)


def restart_service(cfg: Config, service: str, timeout: float = 60.0) -> float:
    """Restart one running service of the stack (data kept) and wait until it is ready again;
    returns the seconds it took. Used to make Prometheus re-read state only read at start."""
    cfg = attached(cfg)
    with project_lock(cfg.state_dir, wait=timeout, what="restart"):  # never in the middle of an `up`/`down`
        runtime = rt.choose_runtime(cfg).runtime
        started = time.monotonic()
        with _sigterm_as_interrupt():
            runtime.restart(cfg, service)
            _wait(cfg, runtime, (service,), timeout, lambda _p: None)
        return time.monotonic() - started


def logs(cfg: Config, service: str, tail: int = 100, follow: bool = False) -> Iterator[str]:
    if service not in SERVICES:
        from stackctl.services import get_service

        get_service(service)
    rec = record.load(cfg.state_dir)
    if rec is None:  # never started here: say so
        raise record.not_running(cfg.state_dir, cfg.project)
    # a stack taken down still has the logs of its last run
    return (rt.docker_runtime() if rec.runtime == "docker" else rt.native_runtime()).logs(_with_record(cfg, rec), service, tail, follow)
