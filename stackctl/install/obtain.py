"""Getting a missing server binary the way ``docker compose up`` pulls a missing image.

In order: the pinned official release archive (sha256-checked, cache.py), where the release
host answers within a short timeout; else the Debian/Ubuntu package unpacked into the cache
(debian.py); else one error naming every way to get it. Progress goes through a callback as
:class:`Step` records; nothing prints.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import requests

from stackctl.errors import BinaryNotFoundError, InstallError, StackctlError
from stackctl.install import cache, debian, store
from stackctl.services import SERVICES

log = logging.getLogger(__name__)

RELEASE_TIMEOUT = 10.0  # seconds to connect/read: a blocked release host must not stall `up`


@dataclass(frozen=True)
class Step:
    """Where obtaining ``service`` is: looking, downloading, unpacking, installed or failed."""

    service: str
    state: str
    detail: str = ""
    done: int = 0
    total: int | None = None
    elapsed: float = 0.0


OnStep = Callable[[Step], None]


@dataclass
class Attempts:
    """Shared across the services of one `up`: a release host that did not answer is not
    asked again for the next service."""

    unreachable: set[str] = field(default_factory=set)


def _release_attempt(service: str, cache_dir: Path, mirror: str | None, attempts: Attempts,
                     report: Callable[[str, str, int, int | None], None]) -> store.Installed:
    if service in cache.NOT_DISTRIBUTED:
        raise InstallError(cache.NOT_DISTRIBUTED[service].split(";")[0])
    release = cache.release_for(service)
    key = cache.platform_key()
    url = cache.rebase_url(release.url(key), mirror) if mirror else release.url(key)
    host = urlsplit(url).netloc
    if host in attempts.unreachable:
        raise InstallError(f"{host} did not answer (tried for an earlier service)")
    report("downloading", f"release {release.version} from {host}", 0, None)
    try:
        cache.install(service, cache_dir=cache_dir, base_url=mirror, timeout=RELEASE_TIMEOUT,
                      progress=lambda d, t: report("downloading", f"release {release.version} from {host}", d, t))
    except InstallError as exc:
        if isinstance(exc.__cause__, (requests.ConnectionError, requests.Timeout)):
            attempts.unreachable.add(host)
        raise
    found = store.usable(service, cache_dir)
    if found is None or found.source != "release":
        raise InstallError(f"{service} {release.version} was unpacked but is not usable")
    return found


def obtain(service: str, *, cache_dir: Path, mirror: str | None = None, on_step: OnStep = lambda _s: None,
           attempts: Attempts | None = None) -> store.Installed:
    """Put a usable ``service`` binary into ``cache_dir``; raise BinaryNotFoundError naming why not."""
    attempts = attempts or Attempts()
    started = time.monotonic()

    def report(state: str, detail: str, done: int = 0, total: int | None = None) -> None:
        on_step(Step(service, state, detail, done, total, time.monotonic() - started))

    with store.locked(cache_dir, on_wait=lambda: report("waiting", f"another stackctl is installing into {cache_dir}")):
        ready = store.usable(service, cache_dir)  # it may have been that other stackctl's work
        if ready is not None:
            report("installed", describe(ready))
            return ready
        return _obtain(service, cache_dir, mirror, attempts, report)


def _obtain(service: str, cache_dir: Path, mirror: str | None, attempts: Attempts,
            report: Callable[..., None]) -> store.Installed:
    failures: list[str] = []
    report("looking", "release archive")
    try:
        found = _release_attempt(service, cache_dir, mirror, attempts, report)
    except StackctlError as exc:
        failures.append(f"release archive: {exc.message}")
        log.debug("release path for %s failed: %s", service, exc)
    else:
        report("installed", describe(found))
        return found
    report("looking", "Debian package")
    try:
        found = debian.obtain(service, cache_dir, lambda d, t, what: report(_state(what, t), f"Debian: {what}", d, t))
    except StackctlError as exc:
        failures.append(f"Debian package: {exc.message}")
    else:
        report("installed", describe(found))
        return found
    report("failed", "; ".join(failures))
    raise not_obtained(service, failures)


def _state(what: str, total: int | None) -> str:
    return "unpacking" if what == "unpacking" else "downloading" if total else "looking"


def which_tool(name: str) -> str | None:
    """A companion tool (promtool, amtool, redis-cli): PATH first, then the binary cache, where
    `up` may have put it with its server."""
    found = shutil.which(name)
    if found:
        return found
    cached = store.find_tool(name, cache.default_cache_dir())
    # Only a tool that needs no unpacked libraries runs as a bare path (promtool, amtool: Go).
    return str(cached[0]) if cached is not None and not cached[1] else None


def describe(inst: store.Installed) -> str:
    """Where a cached binary came from, for messages: `release 3.5.0 (URL)` / `Debian ...`."""
    if inst.source == "release":
        return f"official release {inst.version} ({inst.origin})"
    return f"Debian package {inst.origin}"


def ways(service: str) -> list[str]:
    """Every way to get ``service``'s binary by hand, for hints and `doctor`."""
    spec = SERVICES[service]
    out = []
    if service in cache.RELEASES:
        out.append(_install_way(service))
    if service in debian.DEBIAN:
        out.append(f"`apt-get install {spec.apt_package}` as root (it also starts a system service; stop it)")
    out.append(f"put {' or '.join(spec.binaries)} on PATH")
    out.append("use --runtime docker (compose pulls the image)")
    out.append(f"leave it out: --services without {service}")
    return out


def _install_way(service: str) -> str:
    release = cache.RELEASES[service]
    try:
        key = cache.platform_key()
    except StackctlError:
        return f"`stackctl install {service} --url URL --sha256 HEX` (no release archive for this platform is pinned)"
    if key not in release.sha256:
        return (f"`stackctl install {service} --url {release.url(key)} --sha256 HEX` "
                f"(stackctl pins no sha256 for {key[0]}-{key[1]}: take it from the release's checksums)")
    return f"`stackctl install {service}` (the official release; --mirror URL if its host is blocked)"


def not_obtained(service: str, failures: list[str]) -> BinaryNotFoundError:
    spec = SERVICES[service]
    return BinaryNotFoundError(
        f"no {spec.title} binary for the native runtime, and stackctl could not get one:\n  - " + "\n  - ".join(failures),
        hint="get it another way: " + "; ".join(ways(service)),
    )
