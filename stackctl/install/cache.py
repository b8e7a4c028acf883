"""Download, verify and unpack pinned official release archives into stackctl's binary cache.

``stackctl install SERVICE`` fetches the upstream release archive for this OS and architecture,
checks it against a sha256 pinned below while it streams, unpacks it into a temporary directory
next to the cache and renames that directory into place in one step. A corrupt, truncated or
failed download leaves nothing behind. The native runtime finds the result with
:func:`cached_binary`.

Nothing here reads the environment at import time, and nothing prints: progress goes through
a callback.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable
from urllib.parse import urlsplit, urlunsplit

from stackctl.errors import InstallError, UsageError
from stackctl.install.archives import extract
from stackctl.install.releases import ARCH_NAMES, NOT_DISTRIBUTED, OS_NAMES, RELEASES, PlatformKey, Release
from stackctl.install.store import commit, sha256_file
from stackctl.yamlfile import suggest

if TYPE_CHECKING:  # requests is imported where it downloads: `status` and `config` start faster without it
    import requests

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]

_CHUNK = 1 << 16
MARKER = ".stackctl-release.json"
MIRROR_ENV = "STACKCTL_RELEASE_MIRROR"  # read by the CLI, passed here as base_url
CACHE_ENV = "STACKCTL_CACHE_DIR"


def installable_services() -> list[str]:
    """The services ``stackctl install`` can download, in table order."""
    return list(RELEASES)


def platform_key() -> PlatformKey:
    """This machine as release archives name it: (linux|darwin, amd64|arm64)."""
    system, machine = platform.system(), platform.machine()
    os_name = OS_NAMES.get(system.lower())
    arch = ARCH_NAMES.get(machine.lower())
    if os_name is None or arch is None:
        raise InstallError(
            f"no release archives for this platform ({system} {machine})",
            hint="stackctl installs linux/darwin builds for amd64/arm64; install the services "
            "with your OS package manager, or run the stack with --runtime docker",
        )
    return os_name, arch


def default_cache_dir() -> Path:
    """``$STACKCTL_CACHE_DIR``, else ``$XDG_CACHE_HOME/stackctl/bin``, else ``~/.cache/stackctl/bin``."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "stackctl" / "bin"


def release_for(service: str) -> Release:
    """The pinned release of ``service``; a clear error for redis or an unknown name."""
    if service in RELEASES:
        return RELEASES[service]
    if service in NOT_DISTRIBUTED:
        raise InstallError(f"{service} cannot be installed by stackctl", hint=NOT_DISTRIBUTED[service])
    known = sorted([*RELEASES, *NOT_DISTRIBUTED])
    raise UsageError(
        f"unknown service {service!r}{suggest(service, known)}",
        hint=f"installable services: {', '.join(RELEASES)}",
    )


def cached_binary(service: str, cache_dir: Path) -> Path | None:
    """The executable of ``service`` in ``cache_dir`` if a complete install is there, else None.

    Never downloads and never raises for a service stackctl cannot install (redis, unknown
    names, unsupported platforms): the native runtime asks for every service.
    """
    release = RELEASES.get(service)
    if release is None:
        return None
    try:
        key = platform_key()
    except InstallError:
        return None
    return _valid_install(release, key, Path(cache_dir) / release.dirname(key), expected_sha=None)


def install(
    service: str,
    *,
    cache_dir: Path,
    base_url: str | None = None,
    url: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
    timeout: float = 60,
) -> Path:
    """Download, verify and unpack ``service``'s pinned release; return its executable.

    ``base_url`` replaces the scheme and host of the release URL (a mirror keeping upstream's
    paths, optionally under a prefix). ``url`` and ``sha256`` replace the pinned URL and hash.
    An install already in the cache whose recorded hash matches is returned without a
    download. The result lives in ``cache_dir/<service>-<version>-<os>-<arch>/``.
    """
    release = release_for(service)
    key = platform_key()
    expected = _expected_sha(release, key, sha256)
    cache_dir = Path(cache_dir)
    final = cache_dir / release.dirname(key)
    cached = _valid_install(release, key, final, expected_sha=expected)
    if cached is not None:
        log.debug("%s already installed at %s", service, cached)
        return cached
    if expected is None:
        raise _no_pin_error(release, key)
    source = url or release.url(key)
    if base_url and not url:
        source = rebase_url(source, base_url)
    _ensure_dir(cache_dir)
    return _download_and_unpack(release, key, source, expected, final, progress, timeout)


def rebase_url(url: str, base_url: str) -> str:
    """``url`` with the scheme and host of ``base_url``, its path under ``base_url``'s path."""
    base = urlsplit(base_url)
    if base.scheme not in ("http", "https") or not base.netloc:
        raise UsageError(
            f"mirror {base_url!r} is not an http(s) URL",
            hint="pass e.g. --mirror https://mirror.example.com (it must serve upstream's paths)",
        )
    original = urlsplit(url)
    path = base.path.rstrip("/") + original.path
    return urlunsplit((base.scheme, base.netloc, path, original.query, ""))


def _expected_sha(release: Release, key: PlatformKey, override: str | None) -> str | None:
    if override is None:
        return release.sha256.get(key)
    value = override.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise UsageError(
            f"--sha256 {override!r} is not a sha256 (64 hex digits)",
            hint="copy it from the release's published checksum file (sha256sums.txt / SHA256SUMS)",
        )
    return value


def _no_pin_error(release: Release, key: PlatformKey) -> InstallError:
    plat = f"{key[0]}-{key[1]}"
    pinned = ", ".join(f"{o}-{a}" for o, a in release.sha256) or "none"
    return InstallError(
        f"stackctl has no pinned sha256 for {release.service} {release.version} on {plat} "
        f"(pinned: {pinned}), so it will not download it unverified",
        hint=f"install {release.service} with your OS package manager, or pin the archive "
        f"yourself: stackctl install {release.service} --url {release.url(key)} "
        f"--sha256 HEX (HEX from the release's published checksums)",
    )


def _ensure_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InstallError(
            f"cannot create the binary cache {path}: {exc.strerror or exc}",
            hint=f"pass --cache-dir or set {CACHE_ENV} to a writable directory",
        ) from exc


# --- cache records ---------------------------------------------------------------------------


def _find_binary(release: Release, key: PlatformKey, root: Path) -> Path | None:
    for rel in release.binaries(key):
        candidate = root / rel
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _valid_install(release: Release, key: PlatformKey, final: Path, expected_sha: str | None) -> Path | None:
    """The executable under ``final`` if it is a complete install (matching ``expected_sha``)."""
    try:
        record = json.loads((final / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if expected_sha is not None and record.get("sha256") != expected_sha:
        return None
    binary = _find_binary(release, key, final)
    if binary is None or not os.access(binary, os.X_OK):
        return None
    return binary


def _write_marker(root: Path, release: Release, key: PlatformKey, source: str, sha: str, binary: Path) -> None:
    rel = binary.relative_to(root).as_posix()
    record = {
        "service": release.service,
        "version": release.version,
        "os": key[0],
        "arch": key[1],
        "url": source,
        "sha256": sha,
        "binaries": {rel: sha256_file(binary)},  # re-checked before every use (store.py)
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (root / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


# --- download --------------------------------------------------------------------------------


def _download_and_unpack(
    release: Release,
    key: PlatformKey,
    source: str,
    expected: str,
    final: Path,
    progress: Progress | None,
    timeout: float,
) -> Path:
    """Everything temporary lives in ``final.parent`` and is removed on every way out."""
    suffix = ".zip" if _is_zip(source) else ".tar.gz"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix + ".part", dir=final.parent)
    archive = Path(tmp_name)
    staging: Path | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            stream_verified(source, out, expected, release.service, progress, timeout)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        extract(archive, staging, source, _is_zip(source))
        binary = _check_binary(release, key, staging, source)
        _write_marker(staging, release, key, source, expected, binary)
        relative = binary.relative_to(staging)
        commit(staging, final, MARKER)
        staging = None
        return final / relative
    finally:
        archive.unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _is_zip(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".zip")


def stream_verified(
    url: str, out: IO[bytes], expected: str, service: str, progress: Progress | None, timeout: float
) -> None:
    """Stream ``url`` into ``out``, hashing as it goes; raise on HTTP errors, truncation, mismatch."""
    import requests

    log.debug("GET %s", url)
    digest = hashlib.sha256()
    done, total = 0, None
    try:
        with requests.get(url, stream=True, timeout=timeout) as resp:
            _check_status(resp, service, url)
            total = _content_length(resp)
            for chunk in resp.iter_content(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except requests.exceptions.ChunkedEncodingError as exc:  # the body ended early
        raise _truncated(service, url, done, total) from exc
    except requests.RequestException as exc:
        raise _request_error(exc, service, url, timeout) from exc
    if total is not None and done != total:
        raise _truncated(service, url, done, total)
    _verify(digest.hexdigest(), expected, service, url)


def _request_error(exc: requests.RequestException, service: str, url: str, timeout: float) -> InstallError:
    import requests

    if isinstance(exc, requests.Timeout):
        why = f"no answer within {timeout:g}s"
    elif isinstance(exc, requests.ConnectionError):
        why = f"cannot connect to {urlsplit(url).netloc}"
    else:
        why = str(exc)
    return InstallError(f"download of {service} from {url} failed: {why}", hint=_network_hint())


def _check_status(resp: requests.Response, service: str, url: str) -> None:
    if resp.status_code != 200:
        raise InstallError(
            f"download of {service} failed: {url} answered HTTP {resp.status_code} {resp.reason or ''}".rstrip(),
            hint=_network_hint(),
        )


def _truncated(service: str, url: str, done: int, total: int | None) -> InstallError:
    expected = f"{total}" if total is not None else "an unknown number of"
    return InstallError(
        f"download of {service} from {url} was truncated: the connection dropped after {done} of {expected} bytes",
        hint="nothing was kept; run the command again (or use --mirror if the connection keeps dropping)",
    )


def _content_length(resp: requests.Response) -> int | None:
    # With a Content-Encoding the body is decoded and no longer matches the header's count.
    if resp.headers.get("Content-Encoding"):
        return None
    try:
        return int(resp.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def _verify(actual: str, expected: str, service: str, url: str) -> None:
    if actual != expected:
        raise InstallError(
            f"{service} archive from {url} failed verification: sha256 {actual}, expected {expected}",
            hint="the download is corrupt or the server sent a different file; nothing was kept. "
            "Retry, and check --mirror / " + MIRROR_ENV + " if you use one",
        )


def _network_hint() -> str:
    return (
        f"check the network, or use a mirror that serves the same paths: --mirror URL "
        f"(or {MIRROR_ENV}); or install the service with your OS package manager"
    )


def _check_binary(release: Release, key: PlatformKey, root: Path, archive_url: str) -> Path:
    """The archive's executable; made executable if the archive dropped the bit (Loki's zips)."""
    binary = _find_binary(release, key, root)
    if binary is None:
        raise InstallError(
            f"{archive_url} does not contain {' or '.join(release.binaries(key))}",
            hint="the archive is not the expected release; check --url",
        )
    mode = binary.stat().st_mode
    if not mode & stat.S_IXUSR:
        binary.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if not os.access(binary, os.X_OK):
        raise InstallError(
            f"{binary.name} from {archive_url} is not executable",
            hint="the cache directory may be on a noexec mount; pass --cache-dir elsewhere",
        )
    return binary

