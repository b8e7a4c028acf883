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
import logging
import os
import secrets
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Iterator

from stackctl.errors import LockedError, StateError, disk_hint

log = logging.getLogger("stackctl.state.dirs")


# A state dir is ours only with this marker in it: stackctl deletes (rendered files it no longer
# wants, data dirs on `down --volumes`) only inside folders it created.
MARKER = ".stackctl-state"
# What a state dir written before the marker existed holds; such a dir is adopted.
OWN_ENTRIES = frozenset({"rendered", "data", "run", "logs", "secrets", "stack.json", "seed.json", "seed.log",
                         "lock", "compose.yaml", "seed.tmp", "stack.json.tmp",
                         "synth"})  # synth: the scenarios `seed --from` synthesized


def claim_state_dir(state_dir: Path) -> Path:
    """Create the state dir, or adopt one stackctl made; refuse a folder holding other files."""
    if (state_dir / MARKER).is_file():
        return state_dir
    try:
        entries = sorted(e.name for e in state_dir.iterdir()) if state_dir.is_dir() else []
    except OSError as exc:
        raise StateError(f"cannot read the state dir {state_dir}: {_why(state_dir, exc)}", hint=disk_hint(exc)) from None
    foreign = [e for e in entries if e not in OWN_ENTRIES and not e.startswith(".")]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise StateError(
            f"the state dir {state_dir} holds files stackctl did not create ({shown})",
            hint="stackctl deletes and rewrites files in its state dir: point state_dir (or STACKCTL_STATE_DIR) at a new or empty folder",
        )
    ensure_dir(state_dir)
    write_atomic(state_dir / MARKER, "This folder is a stackctl state dir: stackctl may rewrite or delete what is in it.\n")
    return state_dir


def owns(state_dir: Path) -> bool:
    """Whether stackctl created (or adopted) this state dir, so it may delete inside it."""
    return (state_dir / MARKER).is_file()


def ensure_dir(path: Path, mode: int = 0o755) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=mode)
    except OSError as exc:
        raise StateError(f"cannot create {path}: {_why(path, exc)}", hint=disk_hint(exc)) from None
    return path


def _why(path: Path, exc: OSError) -> str:
    """The reason, naming the culprit when a parent folder is really a file."""
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        for parent in (path, *path.parents):
            if parent.exists() and not parent.is_dir():
                return f"{parent} is a file, not a folder"
    return exc.strerror or str(exc)




def write_atomic(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write to a temp file beside ``path`` and rename: a full disk never leaves half a file.

    On any failure the previous ``path`` is left exactly as it was and the temp file is removed.
    """
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
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
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise StateError(f"cannot write {path}: {_why(path, exc)}", hint=disk_hint(exc)) from None
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (a crash right after keeps the new file)."""
    with suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_state_dir(state_dir: Path) -> None:
    """`down --volumes`: remove every file stackctl made for the project, then the folder if
    nothing else is left in it. Only in a state dir stackctl created or adopted (its marker)."""
    import shutil

    if not owns(state_dir):
        log.warning("not removing %s: stackctl did not create that folder (no %s marker)", state_dir, MARKER)
        return
    for name in sorted(OWN_ENTRIES):
        target = state_dir / name
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        except OSError as exc:
            raise StateError(f"cannot remove {target}: {_why(target, exc)}", hint=disk_hint(exc)) from None
    for stray in state_dir.glob(".*.tmp"):
        stray.unlink(missing_ok=True)
    (state_dir / MARKER).unlink(missing_ok=True)
    with suppress(OSError):
        state_dir.rmdir()


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: Any, mode: int = 0o644) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode)


def read_secret(state_dir: Path, name: str) -> str | None:
    """A generated secret if it exists; never creates one (for `down`, `status`)."""
    try:
        return (state_dir / "secrets" / name).read_text().strip() or None
    except OSError:
        return None


def secret(state_dir: Path, name: str) -> str:
    """A per-project generated secret, created once and kept with mode 0600."""
    path = state_dir / "secrets" / name
    value = read_secret(state_dir, name)
    if value:
        return value
    ensure_dir(path.parent, 0o700)
    try:
        os.chmod(path.parent, 0o700)
    except OSError as exc:
        raise StateError(f"cannot protect {path.parent}: {_why(path.parent, exc)}", hint=disk_hint(exc)) from None
    value = secrets.token_urlsafe(18)
    write_atomic(path, value + "\n", 0o600)
    return value


@contextmanager
def project_lock(state_dir: Path, wait: float = 0.0, what: str = "stackctl") -> Iterator[None]:
    """Hold the project's lock; two `up`s at once never build two half-stacks.

    With ``wait`` > 0, waits that long for the other holder before giving up. The lock is an
    flock, so a holder that dies (even by SIGKILL) releases it at once.
    """
    ensure_dir(state_dir)
    path = state_dir / "lock"
    fd = _open_lock(path)
    locked = False
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
        _note_holder(fd, what)
        locked = True
        yield
    finally:
        try:
            if locked:
                with suppress(OSError):
                    os.ftruncate(fd, 0)  # released: nobody holds it any more
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _open_lock(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        try:
            # flock needs no write access: on a read-only state dir `down` can still lock
            # (and stop the stack); whatever must be written fails later, with its own path.
            return os.open(path, os.O_RDONLY)
        except OSError:
            raise StateError(f"cannot open the project lock {path}: {_why(path, exc)}", hint=disk_hint(exc)) from None


def _note_holder(fd: int, what: str) -> None:
    """Write who holds the lock, for the other side's message. Informational only: on a full
    or read-only disk the lock (an flock) still holds, so a failed write is not an error."""
    note = f"pid {os.getpid()}: {what}\n".encode()
    try:
        os.pwrite(fd, note.ljust(64), 0)  # overwrite in place: never an empty file to read
        os.ftruncate(fd, len(note))
    except OSError as exc:
        log.debug("could not note the lock holder: %s", exc)


def _lock_holder(path: Path, patience: float = 1.0) -> str:
    """The holder's note; the holder may be between flock and writing it, so retry a moment."""
    deadline = time.monotonic() + patience
    while True:
        try:
            text = path.read_text().strip()
        except OSError:
            text = ""
        if text.startswith("pid ") or time.monotonic() >= deadline:
            return text or "unknown pid"
        time.sleep(0.05)
