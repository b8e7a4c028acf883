"""Isolated stacks for the benchmarks: start, time, measure memory, always tear down.

Every stack gets a project named ``bench-<random>``, free ports and a state dir of its own
under the run's state root, so a benchmark never collides with a stack the user runs (or
with a second benchmark run) and cleanup can find everything it started from that root.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import psutil

from stackctl.config import Config, load_config
from stackctl.errors import StackctlError
from stackctl.proc import run
from stackctl.services import SERVICES, with_internal
from stackctl.stack import orchestrator as stack
from stackctl.state.dirs import read_json
from stackctl.state.ports import free_ports

PROJECT_PREFIX = "bench-"
PROJECT_LABEL = "io.stackctl.project"  # set by the docker runtime on every container
CORE_SERVICES = ("prometheus", "alertmanager", "pushgateway", "redis")
# The stand-ins the integration tests use (tests/helpers.py): small local images that serve
# the same APIs, for machines where no registry is reachable to pull the official ones.
STANDIN_IMAGES: Mapping[str, str] = {
    "prometheus": "stackctl-standin/prometheus:latest",
    "alertmanager": "stackctl-standin/alertmanager:latest",
    "pushgateway": "stackctl-standin/pushgateway:latest",
    "redis": "stackctl-standin/redis:latest",
    "notify-sink": "stackctl-standin/busybox:latest",
}
_UNITS = {"b": 1, "kb": 1e3, "kib": 1024, "mb": 1e6, "mib": 1024**2, "gb": 1e9, "gib": 1024**3}


def _clean_env() -> dict[str, str]:
    """The caller's environment without stackctl settings that would break isolation
    (project, ports, state dir, ...); image overrides stay, they choose what docker runs."""
    return {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_") or k.startswith("STACKCTL_IMAGE_")}


def isolated_config(state_root: Path, runtime: str, services: tuple[str, ...] = CORE_SERVICES) -> Config:
    project = f"{PROJECT_PREFIX}{uuid.uuid4().hex[:10]}"
    state_root.mkdir(parents=True, exist_ok=True)
    return load_config(
        env=_clean_env(),
        cwd=state_root,  # no stackctl.yaml of the caller's checkout leaks in
        flags={"project": project, "runtime": runtime, "services": list(services),
               "ports": dict(zip(SERVICES, free_ports(len(SERVICES)))), "state_dir": str(state_root / project)},
    )


@contextmanager
def started(cfg: Config, timeout: float = 120) -> Iterator[float]:
    """Bring the stack up, yield how long ``stack.up`` took to report every service ready,
    and tear it down (data included) however the block ends, Ctrl-C too."""
    try:
        begin = time.perf_counter()
        stack.up(cfg, cfg.services, timeout=timeout)
        yield time.perf_counter() - begin
    finally:
        teardown(cfg)


def teardown(cfg: Config) -> None:
    """``stack.down`` that finishes even when Ctrl-C or SIGTERM arrives meanwhile.

    An interrupted ``docker compose down`` leaves containers behind. So signals that arrive
    during the teardown are held and re-raised once it is done; and because a terminal's
    Ctrl-C also reaches the compose child directly, a teardown that failed while a signal
    came in is run once more.
    """
    with _held_interrupts() as held:
        try:
            stack.down(cfg, volumes=True)
        except StackctlError:
            if not held:
                raise
            stack.down(cfg, volumes=True)


@contextmanager
def _held_interrupts() -> Iterator[list[int]]:
    if threading.current_thread() is not threading.main_thread():
        yield []  # signals are only delivered to the main thread anyway
        return
    held: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: held.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield held
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if held:
        raise KeyboardInterrupt


# -- docker -----------------------------------------------------------------------------------

def docker_unavailable() -> str | None:
    """None when a Docker engine answers, else why not."""
    from stackctl.runtime.compose import DockerRuntime

    ok, why = DockerRuntime().available()
    return None if ok else f"no Docker engine answers ({why})"


def with_cached_images(cfg: Config) -> tuple[Config, str | None]:
    """``cfg`` with, per service, its configured image if cached, else the cached stand-in;
    and the reason the docker figure must be skipped when neither is (it measures start-up
    from cached images, never a pull)."""
    from stackctl.runtime.compose import image_present

    images = dict(cfg.images)
    for service in with_internal(cfg.services):
        if image_present(images[service]):
            continue
        standin = STANDIN_IMAGES.get(service)
        if standin is None or not image_present(standin):
            return cfg, f"image {images[service]} for {service} is not cached (nor a stand-in)"
        images[service] = standin
    return cfg.with_(images=images), None


def project_containers(project: str) -> list[str]:
    out = run(["docker", "ps", "-aq", "--filter", f"label={PROJECT_LABEL}={project}"], timeout=30).stdout
    return out.split()


# -- resident memory --------------------------------------------------------------------------

def native_pids(state_dir: Path) -> list[int]:
    """Pids the native runtime recorded for this stack (``<state_dir>/run/<service>.json``)."""
    pids = []
    for record in sorted((state_dir / "run").glob("*.json")):
        data = read_json(record)
        if isinstance(data, dict) and isinstance(data.get("pid"), int):
            pids.append(data["pid"])
    return pids


def _rss_bytes(pid: int) -> int:
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0  # exited meanwhile: holds no memory


def native_rss_mb(cfg: Config) -> float:
    return sum(_rss_bytes(pid) for pid in native_pids(cfg.state_dir)) / 1024**2


def parse_size(text: str) -> float:
    """``17.44MiB`` (docker stats) -> bytes."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMG]?i?B)\s*", text, re.I)
    if not m:
        raise ValueError(f"unexpected docker size {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def docker_rss_mb(cfg: Config) -> float:
    """Memory usage docker reports for the project's containers (cgroup usage without the
    inactive page cache: the closest thing to resident memory it offers)."""
    ids = project_containers(cfg.project)
    if not ids:
        raise RuntimeError(f"no containers labelled {PROJECT_LABEL}={cfg.project}")
    out = run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", *ids], timeout=60).stdout
    return sum(parse_size(line.split("/")[0]) for line in out.splitlines() if line.strip()) / 1024**2
