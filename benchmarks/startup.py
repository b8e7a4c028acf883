"""Time to healthy and resident memory, per runtime.

``stack.up`` is what ``stackctl up`` calls: render, preflight, start, wait until every probe
passes. The clock covers exactly that call. Memory is read right after, on the idle, freshly
started stack (prometheus, alertmanager, pushgateway, redis and the internal notify sink).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.model import Measurement, Skip
from benchmarks.stacks import docker_rss_mb, docker_unavailable, isolated_config, native_rss_mb, started, with_cached_images

NATIVE_FIGURES = ("time_to_healthy_native_s", "stack_rss_native_mb")
DOCKER_FIGURES = ("time_to_healthy_docker_s", "stack_rss_docker_mb")


def healthy_native(state_root: Path) -> Measurement:
    cfg = isolated_config(state_root, "native")
    with started(cfg) as seconds:
        rss = native_rss_mb(cfg)
    return Measurement({"time_to_healthy_native_s": seconds, "stack_rss_native_mb": rss}, {"services": list(cfg.services)})


def healthy_docker(state_root: Path) -> Measurement:
    reason = docker_unavailable()
    if reason:
        raise Skip(reason)
    cfg, reason = with_cached_images(isolated_config(state_root, "docker"))
    if reason:
        raise Skip(reason)
    with started(cfg) as seconds:
        rss = docker_rss_mb(cfg)
    images = {s: cfg.images[s] for s in cfg.services}
    return Measurement({"time_to_healthy_docker_s": seconds, "stack_rss_docker_mb": rss}, {"services": list(cfg.services), "images": images})
