"""`stackctl doctor`: per runtime, which servers this machine has, where from, which version,
and how `up` would get each missing one. Looks only: never downloads, pulls or starts.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from stackctl.config import Config
from stackctl.errors import StackctlError
from stackctl.install import cache, debian, store
from stackctl.install.obtain import ways
from stackctl.proc import run
from stackctl.services import SERVICES, USER_SERVICES


@dataclass(frozen=True)
class ServerRow:
    service: str
    present: bool
    source: str  # PATH | cache (release) | cache (debian) | image | -
    where: str  # the executable or the image
    version: str
    how: str  # for a missing one: how `up` gets it (or why it cannot); else ""

    def public(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    native: list[ServerRow]
    docker: list[ServerRow]
    docker_engine: str
    cache_dir: Path
    broken: list[str]  # cached installs that fail verification

    def public(self) -> dict[str, object]:
        return {"native": [r.public() for r in self.native], "docker": [r.public() for r in self.docker],
                "docker_engine": self.docker_engine, "cache_dir": str(self.cache_dir), "broken": self.broken}


def _version(binary: Path, env: dict[str, str]) -> str:
    try:
        result = run([str(binary), "--version"], timeout=15, check=False, env=env or None)
    except StackctlError:
        return "?"
    text = (result.stdout or result.stderr).strip()
    first = text.splitlines()[0] if text else ""
    match = re.search(r"(?:version[ =]|v=|\bv)(\d+\.\d+[\w.+~-]*)", first) or re.search(r"\b(\d+\.\d+\.\d+[\w.+~-]*)", first)
    return match.group(1) if match else (first[:60] or "?")


def _how_native(cfg: Config, service: str) -> str:
    if not cfg.install:
        return f"automatic download is off ({cfg.sources.get('install', 'config')}); " + "; ".join(ways(service))
    steps = []
    release = cache.RELEASES.get(service)
    if release is None:
        steps.append(f"no official binary release ({cache.NOT_DISTRIBUTED.get(service, 'none').split(';')[0]})")
    else:
        try:
            key = cache.platform_key()
        except StackctlError as exc:
            steps.append(f"release: {exc.message}")
        else:
            if key in release.sha256:
                url = cache.rebase_url(release.url(key), cfg.release_mirror) if cfg.release_mirror else release.url(key)
                steps.append(f"`up` downloads the official release {release.version} ({url}, sha256-pinned)")
            else:
                steps.append(f"release {release.version}: no pinned sha256 for {key[0]}-{key[1]}")
    if service in debian.DEBIAN:
        why = debian.unavailable()
        pkgs = " + ".join(debian.DEBIAN[service].packages)
        steps.append(f"Debian package unavailable: {why}" if why else
                     f"{'else ' if release else ''}`up` unpacks the Debian package {pkgs} into the cache (apt-get download, no root)")
    else:
        steps.append(debian.NOT_IN_DEBIAN.get(service, "no Debian package"))
    automatic = any(s.startswith(("`up`", "else `up`")) for s in steps)
    if not automatic:
        steps.append("by hand: " + "; ".join(ways(service)))
    return "; ".join(steps)


def native_rows(cfg: Config, cache_dir: Path) -> list[ServerRow]:
    rows = []
    for service in USER_SERVICES:
        spec = SERVICES[service]
        on_path = next((Path(p) for n in spec.binaries if (p := shutil.which(n))), None)
        if on_path is not None:
            rows.append(ServerRow(service, True, "PATH", str(on_path), _version(on_path, {}), ""))
            continue
        cached = store.usable(service, cache_dir)
        if cached is not None and cached.binary is not None:
            rows.append(ServerRow(service, True, f"cache ({cached.source})", str(cached.binary),
                                  _version(cached.binary, cached.env()) if cached.source == "release" else cached.version.split(":")[-1].split("-")[0],
                                  ""))
            continue
        rows.append(ServerRow(service, False, "-", "", "", _how_native(cfg, service)))
    return rows


def docker_rows(cfg: Config) -> tuple[str, list[ServerRow]]:
    from stackctl.runtime.compose import DockerRuntime, image_present

    ok, why = DockerRuntime().available()
    rows = []
    for service in USER_SERVICES:
        image = cfg.images[service]
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else "latest"
        if not ok:
            rows.append(ServerRow(service, False, "-", image, tag, "no Docker engine answers"))
        elif image_present(image):
            rows.append(ServerRow(service, True, "image", image, tag, ""))
        else:
            rows.append(ServerRow(service, False, "-", image, tag, f"`up` pulls {image}"))
    return why, rows


def report(cfg: Config) -> Report:
    cache_dir = cache.default_cache_dir()
    engine, docker = docker_rows(cfg)
    broken = [f"{i.name}: {i.problem}" for i in store.installed(cache_dir) if not i.usable]
    return Report(native_rows(cfg, cache_dir), docker, engine, cache_dir, broken)
