"""The per-project state dir: rendered configs, data dirs, pids, logs, secrets and the lock.

Layout::

    <state_dir>/rendered/...   configs generated from the assets (both runtimes read these)
    <state_dir>/data/<svc>     native data dirs (docker uses named volumes)
    <state_dir>/run/<svc>.json native pid records
    <state_dir>/logs/<svc>.log native logs
    <state_dir>/secrets/       generated credentials (mode 0600)
    <state_dir>/stack.json     which runtime started the stack, and with what
    <state_dir>/lock           held while up/down run
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from stackctl.errors import LockedError, StateError


def ensure_dir(path: Path, mode: int = 0o755) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=mode)
    except PermissionError:
        raise StateError(f"cannot create {path}: permission denied", hint="set state_dir in stackctl.yaml or STACKCTL_STATE_DIR to a writable folder") from None
    except OSError as exc:
        raise StateError(f"cannot create {path}: {exc.strerror}", hint=_disk_hint(exc)) from None
    return path


def _disk_hint(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full: free some space (docker system prune, old state dirs) and retry"
    return "check that the state dir is writable (STACKCTL_STATE_DIR)"


def write_atomic(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write to a temp file beside ``path`` and rename: a full disk never leaves half a file."""
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    raw = data.encode() if isinstance(data, str) else data
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StateError(f"cannot write {path}: {exc.strerror}", hint=_disk_hint(exc)) from None


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: Any, mode: int = 0o644) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode)


def secret(state_dir: Path, name: str) -> str:
    """A per-project generated secret, created once and kept with mode 0600."""
    path = state_dir / "secrets" / name
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    ensure_dir(path.parent, 0o700)
    os.chmod(path.parent, 0o700)
    value = secrets.token_urlsafe(18)
    write_atomic(path, value + "\n", 0o600)
    return value


@contextmanager
def project_lock(state_dir: Path, wait: float = 0.0, what: str = "stackctl") -> Iterator[None]:
    """Hold the project's lock; two `up`s at once never build two half-stacks.

    With ``wait`` > 0, waits that long for the other holder before giving up.
    """
    ensure_dir(state_dir)
    path = state_dir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _lock_holder(path)
                    raise LockedError(
                        f"another stackctl ({holder}) is working on this project ({state_dir})",
                        hint="wait for it to finish, or use another project name (STACKCTL_PROJECT) to run a second stack",
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}: {what}\n".encode())
        yield
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _lock_holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown pid"
    except OSError:
        return "unknown pid"
