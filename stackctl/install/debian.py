"""Debian/Ubuntu packages as a binary source, without installing anything system-wide.

``apt-get download`` fetches the service's package and the shared libraries it needs that
this machine lacks (apt's own resolver answers that, against the machine's dpkg status);
``dpkg-deb -x`` unpacks them into a staging dir in stackctl's cache, which is renamed into
place once the executable has run (``--version``) with the unpacked libraries. No root, no
maintainer scripts, no system service, nothing outside the cache changes: apt runs with its
package lists and cache in ``<cache>/.apt`` (refreshed with ``apt-get update`` there).

The .deb files are checked against the sha256 apt read from the signed archive index.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from stackctl.errors import InstallError, ProcessError
from stackctl.install import store
from stackctl.install.cache import stream_verified
from stackctl.proc import run

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None, str], None]  # bytes done, total, what


@dataclass(frozen=True)
class DebSource:
    packages: tuple[str, ...]  # the first holds the service; the others hold what it runs
    binary: str  # path inside the unpacked tree
    tools: tuple[str, ...] = ()
    # An asset directory the distribution compiled in as an absolute path (see _relocate).
    assets: str | None = None


DEBIAN: dict[str, DebSource] = {
    # The web UI: templates and static files compiled in as /usr/share/prometheus/web, whose
    # vendor files are links into the libjs-* packages (fetched as "libraries" below).
    "prometheus": DebSource(("prometheus",), "usr/bin/prometheus", ("usr/bin/promtool",), assets="usr/share/prometheus/web"),
    "alertmanager": DebSource(("prometheus-alertmanager",), "usr/bin/prometheus-alertmanager", ("usr/bin/amtool",),
                              assets="usr/share/prometheus/alertmanager"),  # default.tmpl, without which it exits
    "pushgateway": DebSource(("prometheus-pushgateway",), "usr/bin/prometheus-pushgateway"),
    # /usr/bin/redis-server (package redis-server) is a link to redis-check-rdb, which
    # redis-tools holds: both are needed.
    "redis": DebSource(("redis-server", "redis-tools"), "usr/bin/redis-server", ("usr/bin/redis-cli",)),
}
NOT_IN_DEBIAN = {
    "grafana": "Grafana is not packaged by Debian or Ubuntu (only by Grafana's own apt repository)",
    "loki": "Loki is not packaged by Debian or Ubuntu (only by Grafana's own apt repository)",
}
_LISTS_MAX_AGE = 24 * 3600
# What a server needs besides itself: shared libraries, and the JavaScript and fonts its web UI
# links to (Debian unbundles them: libjs-jquery, fonts-glyphicons-halflings, ...).
_LIBRARY_SECTIONS = {"libs", "javascript", "fonts"}
# Never shadow the C library or the loader the system's ld.so belongs to.
_NEVER = {"libc6", "libc-bin", "libgcc-s1", "gcc-12-base"}


@dataclass(frozen=True)
class Deb:
    name: str
    version: str
    uri: str
    filename: str
    size: int
    sha256: str


def unavailable() -> str | None:
    """Why the Debian path cannot be used here (None: it can)."""
    missing = [t for t in ("apt-get", "apt-cache", "dpkg-deb") if shutil.which(t) is None]
    if missing:
        return f"not a Debian/Ubuntu system ({', '.join(missing)} not found)"
    return None


def dirname(service: str, version: str) -> str:
    return f"debian-{service}-{re.sub(r'[^A-Za-z0-9.+-]', '_', version)}"


class Apt:
    """apt-get/apt-cache with stackctl's private lists and cache under ``state``."""

    def __init__(self, state: Path, timeout: float = 300) -> None:
        self.state = state
        self.timeout = timeout
        self.opts = ["-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state / 'cache'}",
                     # small: compressed lists, no translations, no source-package cache
                     "-o", "Acquire::GzipIndexes=true", "-o", "Acquire::Languages=none", "-o", "Dir::Cache::srcpkgcache=",
                     "-o", "APT::Get::AllowUnauthenticated=false", "-q"]

    def _run(self, tool: str, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        env = {"LC_ALL": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
        return run([tool, *self.opts, *args], timeout=self.timeout, env=env, cwd=cwd, check=check).stdout

    def _lists_fresh(self) -> bool:
        lists = self.state / "lists"
        stamps = [p.stat().st_mtime for p in lists.glob("*_Packages*")] if lists.is_dir() else []
        return bool(stamps) and time.time() - max(stamps) < _LISTS_MAX_AGE

    def update(self, force: bool = False) -> None:
        if not force and self._lists_fresh():
            return
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        try:
            self._run("apt-get", "update")
        except ProcessError as exc:
            # One unreachable third-party source fails the whole update; the rest is usable.
            if not list((self.state / "lists").glob("*_Packages*")):
                raise InstallError(f"apt-get update failed: {exc.message}", hint=_apt_hint()) from exc
            log.debug("apt-get update partly failed: %s", exc.message)

    def candidate(self, package: str) -> str | None:
        out = self._run("apt-cache", "policy", package, check=False)
        match = re.search(r"Candidate:\s*(\S+)", out)
        return match.group(1) if match and match.group(1) != "(none)" else None

    def missing_libraries(self, packages: tuple[str, ...]) -> list[str]:
        """Library packages (shared, JavaScript, fonts) an install of ``packages`` would add to
        this machine (simulated against its dpkg status)."""
        out = self._run("apt-get", "-s", "install", "--no-install-recommends", *packages, check=False)
        # "Inst pkg (new ...)" adds a package; "Inst pkg [old] (new ...)" is an upgrade of one
        # the machine has: keep the machine's.
        new = re.findall(r"^Inst (\S+) \(", out, re.M)
        new = [p for p in new if p not in packages and p not in _NEVER]
        if not new:
            return []
        shown = self._run("apt-cache", "show", "--no-all-versions", *new, check=False)
        libs = []
        for block in shown.split("\n\n"):
            name = re.search(r"^Package: (\S+)", block, re.M)
            section = re.search(r"^Section: (\S+)", block, re.M)
            if name and section and section.group(1).split("/")[-1] in _LIBRARY_SECTIONS:
                libs.append(name.group(1))
        return libs

    def uris(self, packages: list[str]) -> list[Deb]:
        out = self._run("apt-get", "download", "--print-uris", *packages)
        debs = []
        for line in out.splitlines():
            m = re.match(r"'([^']+)' (\S+) (\d+) SHA256:([0-9a-f]{64})", line.strip())
            if m:
                name, version = _name_version(m.group(2))
                debs.append(Deb(name, version, m.group(1), m.group(2), int(m.group(3)), m.group(4)))
        order = {name: i for i, name in enumerate(packages)}
        debs.sort(key=lambda d: order.get(d.name, len(order)))  # apt prints them in its own order
        if len(debs) != len(packages):
            raise InstallError(f"apt-get download --print-uris gave {len(debs)} of {len(packages)} packages ({', '.join(packages)})",
                               hint="the package index may lack sha256 sums; run the command again")
        return debs

    def download(self, deb: Deb, dest: Path, progress: Callable[[int], None] = lambda _d: None) -> Path:
        """The .deb in ``dest``, checked against the sha256 of the signed index. Streamed
        directly (so the progress is by byte) when the URI is plain http(s), else, or if that
        fails (apt may be set up with a proxy or an authenticated mirror), by apt-get."""
        path = dest / deb.filename
        if deb.uri.startswith(("http://", "https://")):
            part = dest / (deb.filename + ".part")
            try:
                with open(part, "wb") as out:
                    stream_verified(deb.uri, out, deb.sha256, deb.name, lambda done, _t: progress(done), 60)
                os.replace(part, path)
                return path
            except InstallError as exc:
                log.debug("direct download of %s failed (%s); asking apt-get", deb.uri, exc.message)
                part.unlink(missing_ok=True)
        self._run("apt-get", "download", f"{deb.name}={deb.version}", cwd=dest)
        if not path.is_file():
            found = sorted(dest.glob(f"{deb.name}_*.deb"))
            if not found:
                raise InstallError(f"apt-get download {deb.name} left no .deb in {dest}")
            path = found[0]
        actual = store.sha256_file(path)
        if actual != deb.sha256:
            raise InstallError(f"{path.name} failed verification: sha256 {actual}, the archive index says {deb.sha256}",
                               hint="nothing was kept; run the command again (a proxy or mirror may have altered it)")
        progress(deb.size)
        return path


def _name_version(filename: str) -> tuple[str, str]:
    from urllib.parse import unquote

    name, version, _arch = unquote(filename[:-4] if filename.endswith(".deb") else filename).split("_", 2)
    return name, version


def _apt_hint() -> str:
    return "check the network and /etc/apt/sources.list; or install the package with apt-get (as root)"


def obtain(service: str, cache_dir: Path, progress: Progress | None = None) -> store.Installed:
    """Download and unpack ``service``'s Debian package(s) and missing libraries into the cache."""
    source = DEBIAN.get(service)
    if source is None:
        raise InstallError(NOT_IN_DEBIAN.get(service, f"{service} has no Debian package"))
    reason = unavailable()
    if reason:
        raise InstallError(f"no Debian package download: {reason}")
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    apt = Apt(cache_dir / store.APT_STATE)
    say = progress or (lambda _d, _t, _w: None)
    say(0, None, "reading the package lists (apt-get update)")
    apt.update()
    if apt.candidate(source.packages[0]) is None:
        apt.update(force=True)
        if apt.candidate(source.packages[0]) is None:
            raise InstallError(f"no package {source.packages[0]} in this machine's apt sources",
                               hint="enable Debian main / Ubuntu universe in /etc/apt/sources.list")
    debs = apt.uris([*source.packages, *apt.missing_libraries(source.packages)])
    final = cache_dir / dirname(service, debs[0].version)
    existing = next((i for i in store.installed(cache_dir) if i.root == final and i.usable), None)
    if existing is not None:
        return existing
    return _fetch_and_unpack(apt, service, source, debs, final, say)


def _fetch_and_unpack(apt: Apt, service: str, source: DebSource, debs: list[Deb], final: Path, say: Progress) -> store.Installed:
    total = sum(d.size for d in debs)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.dl-", dir=final.parent))
    staging: Path | None = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        done = 0
        files = []
        for deb in debs:
            what = f"downloading {deb.name} {deb.version}"
            say(done, total, what)
            files.append(apt.download(deb, tmp, _offset(say, done, total, what)))
            done += deb.size
        say(done, total, "unpacking")
        assert staging is not None
        for path in files:
            run(["dpkg-deb", "-x", str(path), str(staging)], timeout=300)
        if source.assets:
            _relocate(staging, source)
        _link_to_machine(staging)
        version_line = _check_runs(staging, source, service)
        _write_marker(staging, service, source, debs, version_line)
        store.commit(staging, final, store.DEB_MARKER)
        staging = None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    found = next((i for i in store.installed(final.parent) if i.root == final), None)
    if found is None or not found.usable:
        raise InstallError(f"the unpacked {service} in {final} is not usable: {found.problem if found else 'no marker'}")
    return found


def _relocate(root: Path, source: DebSource) -> None:
    """Point a compiled-in ``/usr/share/...`` asset path at the working directory.

    Debian builds Alertmanager to read its templates from /usr/share/prometheus/alertmanager
    (and Prometheus its web UI from /usr/share/prometheus/web),
    which exists only after a system-wide install. The path is rewritten in the cached copy to
    a string of the same length that means "the working directory" (``.`` and slashes: Go
    stores string lengths apart from the bytes, so nothing else moves), and the native runtime
    starts the process from the unpacked asset directory (the marker's ``cwd``). Every other
    path it is given is absolute.
    """
    assert source.assets is not None
    binary = store._inside(root, source.binary)
    if binary is None or not (root / source.assets).is_dir():
        return  # _check_runs names the missing binary
    old = ("/" + source.assets).encode()
    new = b"." + b"/" * (len(old) - 1)
    data = binary.read_bytes()
    if old in data:
        binary.write_bytes(data.replace(old, new))


def _link_to_machine(root: Path) -> None:
    """Links under ``usr/share`` into files the machine already has (a libjs-* package it has
    installed, so apt did not fetch it) would dangle inside the cache: point them at the
    machine's copy instead."""
    share = root / "usr/share"
    if not share.is_dir():
        return
    for dirpath, dirs, names in os.walk(share):
        for name in [*dirs, *names]:
            link = Path(dirpath) / name
            if not link.is_symlink() or link.exists():
                continue
            target = os.readlink(link)
            rel = os.path.normpath(os.path.join(os.path.dirname(link.relative_to(root).as_posix()), target)
                                   if not target.startswith("/") else target.lstrip("/"))
            system = Path("/") / rel
            if not rel.startswith("..") and rel.startswith("usr/share/") and system.exists():
                link.unlink()
                link.symlink_to(system)


def _offset(say: Progress, base: int, total: int, what: str) -> Callable[[int], None]:
    """One package's byte count as progress over all of them."""
    return lambda done: say(base + done, total, what)


def lib_dirs(root: Path) -> list[str]:
    """Directories of the unpacked tree that hold shared libraries, relative to ``root``."""
    out = []
    for base in ("lib", "usr/lib", "lib64", "usr/lib64"):
        top = root / base
        if not top.is_dir() or top.is_symlink():
            continue
        for dirpath, _dirs, names in os.walk(top):
            if any(".so" in n for n in names):
                out.append(Path(dirpath).relative_to(root).as_posix())
    return sorted(set(out))


def _check_runs(root: Path, source: DebSource, service: str) -> str:
    if store._inside(root, source.binary) is None:
        raise InstallError(f"the Debian package {source.packages[0]} holds no {source.binary}",
                           hint="the distribution may have renamed it; install the package with apt-get instead")
    libs = [str(root / d) for d in lib_dirs(root)]
    env = {"LD_LIBRARY_PATH": os.pathsep.join(libs)} if libs else None
    try:
        result = run([str(root / source.binary), "--version"], timeout=30, env=env, cwd=root / source.assets if source.assets else None)
    except ProcessError as exc:
        raise InstallError(f"the unpacked {service} does not run: {exc.message}",
                           hint="it may need a library the machine lacks; install the package with apt-get instead") from exc
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if text else ""


def _write_marker(root: Path, service: str, source: DebSource, debs: list[Deb], version_line: str) -> None:
    executables = {}
    for rel in (source.binary, *source.tools):
        path = store._inside(root, rel)
        if path is not None:
            executables[rel] = store.sha256_file(path)
    record = {
        "service": service,
        "source": "debian",
        "version": debs[0].version,
        "version_line": version_line,
        "binary": source.binary,
        "executables": executables,
        "lib_dirs": lib_dirs(root),
        "cwd": source.assets,  # where the runtime starts it (see _relocate)
        "packages": [{"name": d.name, "version": d.version, "uri": d.uri, "sha256": d.sha256} for d in debs],
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (root / store.DEB_MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
