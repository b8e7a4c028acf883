"""Which runtime runs the stack (docker or native, and why), and how its services are probed."""

from __future__ import annotations

from dataclasses import dataclass

from stackctl.config import Config
from stackctl.errors import EngineError
from stackctl.runtime.base import Runtime
from stackctl.services import SERVICES
from stackctl.state import record
from stackctl.state.health import HttpProbe, Probe, RedisProbe


@dataclass(frozen=True)
class RuntimeChoice:
    runtime: Runtime
    reason: str


def docker_runtime() -> Runtime:
    from stackctl.runtime.compose import DockerRuntime

    return DockerRuntime()


def native_runtime() -> Runtime:
    from stackctl.runtime.native import NativeRuntime

    return NativeRuntime()


def choose_runtime(cfg: Config) -> RuntimeChoice:
    """docker/native as asked; ``auto``: the runtime already running this project, else docker
    when an engine answers, else native."""
    if cfg.runtime == "native":
        return RuntimeChoice(native_runtime(), f"runtime native requested ({cfg.sources.get('runtime', 'default')})")
    docker = docker_runtime()
    if cfg.runtime == "docker":
        ok, why = docker.available()
        if not ok:
            raise EngineError(f"the docker runtime is not usable: {why}", hint="start Docker, fix DOCKER_HOST, or use --runtime native")
        return RuntimeChoice(docker, f"runtime docker requested ({cfg.sources.get('runtime', 'default')})")
    rec = record.load(cfg.state_dir)
    if rec is not None and rec.running:
        chosen = docker if rec.runtime == "docker" else native_runtime()
        if chosen.running_services(cfg):
            return RuntimeChoice(chosen, f"auto: this project is already running on {rec.runtime}")
    ok, why = docker.available()
    if ok:
        return RuntimeChoice(docker, f"auto: a Docker engine answers ({why})")
    return RuntimeChoice(native_runtime(), f"auto: no Docker engine answers ({why}), using native processes")


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


def _connect_host(cfg: Config) -> str:
    return "127.0.0.1" if cfg.bind in ("0.0.0.0", "::") else cfg.bind


def probe_for(cfg: Config, service: str, timeout: float = 1.0) -> Probe:
    spec = SERVICES[service]
    host, port = _connect_host(cfg), cfg.port(service)
    if spec.probe == "redis":
        return RedisProbe(host, port, cfg.redis_password, timeout=timeout)
    return HttpProbe(f"http://{host}:{port}{spec.health_path}", timeout=timeout)
