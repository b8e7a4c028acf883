"""Unpacking release archives safely: no absolute paths, no `..`, no links out, no devices.

Split from install.py: this is the part that must hold against a hostile archive.
"""

from __future__ import annotations

import posixpath
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from stackctl.errors import InstallError


def _unsafe(archive_url: str, name: str, why: str) -> InstallError:
    return InstallError(
        f"refusing to unpack {archive_url}: member {name!r} {why}",
        hint="an official release never contains such paths; the archive was tampered with "
        "or is not the release it claims to be",
    )


def _check_name(name: str, archive_url: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise _unsafe(archive_url, name, "has an absolute path")
    if ".." in path.parts:
        raise _unsafe(archive_url, name, "climbs out of the archive with '..'")


def _check_link_target(name: str, target: str, archive_url: str) -> None:
    if target.startswith("/") or posixpath.isabs(target):
        raise _unsafe(archive_url, name, f"links to absolute path {target!r}")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise _unsafe(archive_url, name, f"links outside the archive ({target!r})")


def extract(archive: Path, dest: Path, archive_url: str, is_zip: bool) -> None:
    """Unpack a tar.gz or zip into ``dest``, refusing any member that would escape it."""
    try:
        if is_zip:
            _extract_zip(archive, dest, archive_url)
        else:
            _extract_tar(archive, dest, archive_url)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise InstallError(
            f"cannot unpack {archive_url}: {exc}",
            hint="the archive matched its sha256 but is not a valid tar.gz/zip; check --url",
        ) from exc


def _extract_tar(archive: Path, dest: Path, archive_url: str) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        for m in members:
            _check_name(m.name, archive_url)
            if m.issym():
                _check_link_target(m.name, m.linkname, archive_url)
            elif m.islnk():
                _check_name(m.linkname, archive_url)
            elif not (m.isfile() or m.isdir()):
                raise _unsafe(archive_url, m.name, "is a device or fifo")
        # The "data" filter re-checks all of the above (Python >= 3.11.4 / 3.12).
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # pragma: no cover - older interpreters
            tar.extractall(dest, members=members)


def _extract_zip(archive: Path, dest: Path, archive_url: str) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            _check_name(info.filename, archive_url)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _unsafe(archive_url, info.filename, "is a symlink")
        for info in infos:
            path = Path(zf.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                path.chmod(mode)
