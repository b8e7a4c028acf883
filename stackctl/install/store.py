"""The binary cache as the native runtime, ``doctor`` and ``install --list/--remove`` see it.

One user-level directory (``$XDG_CACHE_HOME/stackctl/bin`` by default) shared by every
project. Each install is one directory renamed into place in one step, holding a marker
(JSON) that records where it came from and the sha256 of every executable at unpack time:

- ``<service>-<version>-<os>-<arch>/`` with ``.stackctl-release.json``: an official release
  archive (cache.py);
- ``debian-<service>-<version>/`` with ``.stackctl-deb.json``: Debian/Ubuntu packages unpacked
  with ``dpkg-deb -x`` (debian.py), plus the libraries they need that the machine lacks.

An install is used only if its marker is readable and its executable still has the recorded
hash; anything else (a partial copy, a file edited in place) counts as absent.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from stackctl.errors import InstallError, UsageError
from stackctl.install.releases import RELEASES, PlatformKey

RELEASE_MARKER = ".stackctl-release.json"
DEB_MARKER = ".stackctl-deb.json"
APT_STATE = ".apt"  # the private apt lists and cache (debian.py), never an install
LOCK = ".lock"


@dataclass(frozen=True)
class Installed:
    """One install in the cache."""

    name: str  # the directory name; what `install --remove` takes
    service: str
    source: str  # "release" | "debian"
    version: str
    root: Path
    binary: Path | None  # None when the install is not usable (see problem)
    tools: dict[str, Path] = field(default_factory=dict)  # promtool, amtool, redis-cli...
    lib_dirs: tuple[Path, ...] = ()
    origin: str = ""  # the archive URL, or the Debian packages with versions
    problem: str | None = None
    cwd: Path | None = None  # the working directory the executable must start in

    @property
    def usable(self) -> bool:
        return self.binary is not None and self.problem is None

    def env(self) -> dict[str, str]:
        """Extra environment to run this install's executables (its unpacked libraries)."""
        if not self.lib_dirs:
            return {}
        current = os.environ.get("LD_LIBRARY_PATH", "")
        return {"LD_LIBRARY_PATH": os.pathsep.join([*(str(d) for d in self.lib_dirs), *([current] if current else [])])}


_hash_memo: dict[tuple[str, int, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """sha256 of a file, remembered per (path, inode, size, mtime) within this process."""
    st = path.stat()
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _hash_memo:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        _hash_memo[key] = digest.hexdigest()
    return _hash_memo[key]


def _inside(root: Path, rel: str) -> Path | None:
    """``root/rel`` with links resolved, if it is a regular file that stays under ``root``."""
    try:
        path = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def _check_hash(root: Path, rel: str, expected: str | None) -> tuple[Path | None, str | None]:
    """``root/rel`` (links kept: redis-server decides what it is by its name) if its target
    is executable, inside ``root`` and has the recorded hash."""
    path = _inside(root, rel)
    if path is None:
        return None, f"{rel} is missing"
    if not os.access(path, os.X_OK):
        return None, f"{rel} is not executable"
    if expected is not None and sha256_file(path) != expected:
        return None, f"{rel} does not match the sha256 recorded when it was unpacked"
    return root / rel, None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _release(root: Path, record: dict[str, Any]) -> Installed:
    service, version = str(record.get("service", "?")), str(record.get("version", "?"))
    key: PlatformKey = (str(record.get("os", "")), str(record.get("arch", "")))
    hashes: dict[str, str] = record["binaries"] if isinstance(record.get("binaries"), dict) else {}
    binary: Path | None = None
    problem: str | None = f"no {service} executable in it"
    release = RELEASES.get(service)
    for rel in release.binaries(key) if release else []:
        if (root / rel).exists():
            binary, problem = _check_hash(root, rel, hashes.get(rel))
            break
    tools: dict[str, Path] = {}
    if binary is not None and service == "prometheus":
        promtool = binary.parent / "promtool"
        if promtool.is_file() and os.access(promtool, os.X_OK):
            tools["promtool"] = promtool
    if service == "alertmanager" and binary is not None and (binary.parent / "amtool").is_file():
        tools["amtool"] = binary.parent / "amtool"
    return Installed(root.name, service, "release", version, root, binary, tools, (), str(record.get("url", "")), problem)


def _debian(root: Path, record: dict[str, Any]) -> Installed:
    service, version = str(record.get("service", "?")), str(record.get("version", "?"))
    hashes: dict[str, str] = record["executables"] if isinstance(record.get("executables"), dict) else {}
    main = str(record.get("binary", ""))
    binary, problem = _check_hash(root, main, hashes.get(main)) if main else (None, "the marker names no executable")
    if main and main not in hashes:
        binary, problem = None, "the marker records no sha256 for it"
    tools = {}
    for rel, digest in hashes.items():
        if rel != main:
            path, why = _check_hash(root, str(rel), str(digest))
            if path is not None and why is None:
                tools[Path(str(rel)).name] = root / str(rel)
    libs = tuple(root / d for d in record.get("lib_dirs") or [] if isinstance(d, str))
    packages = record.get("packages") or []
    origin = ", ".join(f"{p.get('name')} {p.get('version')}" for p in packages if isinstance(p, dict))
    cwd = root / str(record["cwd"]) if isinstance(record.get("cwd"), str) else None
    return Installed(root.name, service, "debian", version, root, binary, tools, libs, origin, problem, cwd)


def installed(cache_dir: Path) -> list[Installed]:
    """Every complete install in ``cache_dir`` (usable or not), by service then name."""
    out: list[Installed] = []
    try:
        entries = sorted(Path(cache_dir).iterdir())
    except OSError:
        return []
    for root in entries:
        if root.name.startswith(".") or not root.is_dir():
            continue  # temporary download/unpack dirs and the apt state
        if (record := _read(root / RELEASE_MARKER)) is not None:
            out.append(_release(root, record))
        elif (record := _read(root / DEB_MARKER)) is not None:
            out.append(_debian(root, record))
    return sorted(out, key=lambda i: (i.service, i.name))


def usable(service: str, cache_dir: Path) -> Installed | None:
    """The install the native runtime should run for ``service``: release first, then debian."""
    found = [i for i in installed(cache_dir) if i.service == service and i.usable]
    found.sort(key=lambda i: (i.source != "release", i.name))
    return found[0] if found else None


def find_tool(name: str, cache_dir: Path) -> tuple[Path, dict[str, str]] | None:
    """A companion executable (promtool, amtool, redis-cli) from a usable install, with its env."""
    for inst in installed(cache_dir):
        if inst.usable and name in inst.tools:
            return inst.tools[name], inst.env()
    return None


def remove(cache_dir: Path, names: list[str]) -> list[str]:
    """Remove installs named by directory or service; return the directories removed."""
    every = installed(cache_dir)
    chosen: list[Installed] = []
    for name in names:
        matches = [i for i in every if name in (i.name, i.service)]
        if not matches:
            known = sorted({i.service for i in every} | {i.name for i in every})
            raise UsageError(
                f"nothing named {name!r} in the binary cache {cache_dir}",
                hint=f"installed: {', '.join(known)}" if known else "the cache is empty (`stackctl install --list`)",
            )
        chosen += [m for m in matches if m not in chosen]
    removed = []
    for inst in chosen:
        # Renamed away first so a concurrent `up` never sees a half-deleted install as usable.
        trash = Path(tempfile.mkdtemp(prefix=f".{inst.name}.rm-", dir=cache_dir))
        try:
            os.replace(inst.root, trash / "old")
        except OSError as exc:
            shutil.rmtree(trash, ignore_errors=True)
            raise InstallError(f"cannot remove {inst.root}: {exc.strerror or exc}") from exc
        shutil.rmtree(trash, ignore_errors=True)
        removed.append(inst.name)
    return removed


def commit(staging: Path, final: Path, marker: str) -> None:
    """Move a finished ``staging`` dir to ``final`` in one step, replacing a stale install."""
    if final.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        os.replace(final, trash / "old")
        try:
            os.replace(staging, final)
        finally:
            shutil.rmtree(trash, ignore_errors=True)
        return
    try:
        os.replace(staging, final)
    except OSError as exc:
        if not (final / marker).exists():  # another stackctl finished the same install first: keep theirs
            raise InstallError(f"cannot move the unpacked files into {final}: {exc}") from exc
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def locked(cache_dir: Path, timeout: float = 900, on_wait: Callable[[], None] = lambda: None) -> Iterator[None]:
    """One installer at a time per cache (two projects' `up` may want the same binary; apt
    also refuses a second update of the same lists)."""
    try:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        fh = open(Path(cache_dir) / LOCK, "a")
    except OSError as exc:
        raise InstallError(f"cannot use the binary cache {cache_dir}: {exc.strerror or exc}",
                           hint="set STACKCTL_CACHE_DIR to a writable directory") from exc
    with fh:
        deadline, waited = time.monotonic() + timeout, False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InstallError(f"another stackctl has been installing into {cache_dir} for {timeout:.0f}s",
                                       hint="wait for it to finish, or stop it and run the command again") from None
                if not waited:
                    on_wait()
                    waited = True
                time.sleep(0.5)
        _sweep(Path(cache_dir))
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_STALE = 3600.0


def _sweep(cache_dir: Path) -> None:
    """Remove what an installer killed mid-way left (temporary ``.``-names, an hour old)."""
    now = time.time()
    for entry in cache_dir.glob(".*"):
        if entry.name in (LOCK, APT_STATE) or not any(m in entry.name for m in (".tmp-", ".dl-", ".part", ".old-", ".rm-")):
            continue
        try:
            if now - entry.lstat().st_mtime < _STALE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except OSError:
            continue
