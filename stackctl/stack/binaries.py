"""The native runtime's preflight: get every missing server binary before anything starts.

The runtime itself never downloads (it only looks on PATH and in the cache); `up` calls this
first, the way `docker compose up` pulls missing images before it creates containers.
"""

from __future__ import annotations

from stackctl.config import Config
from stackctl.errors import StackctlError
from stackctl.install import debian
from stackctl.install.cache import default_cache_dir
from stackctl.install.obtain import Attempts, OnStep, obtain
from stackctl.runtime.native import find_binary
from stackctl.services import SERVICES


def obtain_missing(cfg: Config, services: tuple[str, ...], on_step: OnStep) -> dict[str, StackctlError]:
    """Obtain each of ``services`` that has no binary; return why for those still missing."""
    attempts = Attempts()
    failed: dict[str, StackctlError] = {}
    for service in services:
        if SERVICES[service].internal or find_binary(service) is not None:
            continue
        try:
            obtain(service, cache_dir=default_cache_dir(), mirror=cfg.release_mirror, on_step=on_step, attempts=attempts)
        except StackctlError as exc:
            failed[service] = exc
    return failed


def can_obtain(cfg: Config) -> bool:
    """Whether `up` may get binaries here at all (for auto's docker-or-native choice): the
    Debian path is usable (apt may still fail later, with a clear error)."""
    return cfg.install and debian.unavailable() is None
