"""Pid records for native processes, and which processes are ours.

A pid alone is not proof: after a reboot or a crash the pid may belong to something else. A
process is ours only when its identity matches the record: the same start time, the same
executable, and (for processes found without a record) the same state dir. stackctl never
signals a process that is not ours. Processes are read through psutil, not hand-parsed /proc.

Records can be lost (state dir deleted by hand, a full disk). Every process stackctl starts
therefore also carries its owner in its environment (``STACKCTL_NATIVE_OWNER=<state dir>``,
``STACKCTL_NATIVE_SERVICE=<name>``), the native counterpart of a container label:
``find_owned`` finds them again.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import psutil

from stackctl.errors import StateError, disk_hint
from stackctl.state.dirs import read_json, write_json

OWNER_ENV = "STACKCTL_NATIVE_OWNER"
SERVICE_ENV = "STACKCTL_NATIVE_SERVICE"
# Files only a stackctl state dir holds: the nearest folder above a process' working directory
# with one of them is the state dir that process belongs to (state dirs may nest).
STATE_MARKERS = (".stackctl-state", "lock", "stack.json")


@dataclass(frozen=True)
class PidRecord:
    service: str
    pid: int
    create_time: float | None  # psutil's process start time (s since the epoch)
    exe: str
    port: int
    started_at: float
    owner: str = ""  # the state dir it was started for (its OWNER_ENV mark)


def _process(pid: int) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc  # a zombie is dead for us
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def _create_time(pid: int) -> float | None:
    proc = _process(pid)
    try:
        return proc.create_time() if proc else None
    except psutil.Error:
        return None


def _cmdline0(proc: psutil.Process) -> str:
    try:
        words = proc.cmdline()
    except psutil.Error:
        return ""
    return words[0] if words else ""


def record_for(service: str, pid: int, exe: str, port: int, owner: Path | None = None) -> PidRecord:
    return PidRecord(service, pid, _create_time(pid), exe, port, time.time(), str(owner) if owner else "")


def save(run_dir: Path, rec: PidRecord) -> None:
    write_json(run_dir / f"{rec.service}.json", asdict(rec))


def load(run_dir: Path, service: str) -> PidRecord | None:
    data = read_json(run_dir / f"{service}.json")
    if not isinstance(data, dict):
        return None
    data.pop("start_ticks", None)  # records of older versions: no start time, never ours by time
    data.setdefault("create_time", None)
    try:
        return PidRecord(**data)
    except TypeError:
        return None


def forget(run_dir: Path, service: str) -> None:
    path = run_dir / f"{service}.json"
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise StateError(f"cannot remove the pid record {path}: {exc.strerror}", hint=disk_hint(exc)) from None


def owner_env(state_dir: Path, service: str) -> dict[str, str]:
    """The marks a spawned process carries, so it can be found without its record."""
    return {OWNER_ENV: str(state_dir), SERVICE_ENV: service}


def find_owned(state_dir: Path, names: Mapping[str, str]) -> dict[str, PidRecord]:
    """Live processes started for ``state_dir``, by service.

    A process is found by its environment marks, or -- for those that overwrite their
    environment when setting their title, like redis-server -- by an executable name in
    ``names`` (basename -> service) and a working directory whose nearest state dir is
    ``state_dir`` (stackctl starts them there; a project whose state dir is nested inside this
    one is that project's, not ours). Only session leaders count (stackctl starts each service
    in its own session); their children are stopped with their process group.
    """
    want = str(state_dir)
    found: dict[str, PidRecord] = {}
    for proc in psutil.process_iter(["pid", "environ", "cwd", "cmdline", "create_time", "status"]):
        info: dict[str, Any] = proc.info
        if info["status"] == psutil.STATUS_ZOMBIE or not _session_leader(proc):
            continue
        environ = info["environ"] or {}
        if environ.get(OWNER_ENV) == want:
            service = environ.get(SERVICE_ENV, "")
        elif _inside(info["cwd"] or "", want) and _owning_state_dir(info["cwd"]) == want:
            words = " ".join(info["cmdline"] or []).split()
            service = names.get(Path(words[0]).name, "") if words else ""
        else:
            continue
        if service:
            cmd0 = words[0] if (words := " ".join(info["cmdline"] or []).split()) else ""
            found[service] = PidRecord(service, info["pid"], info["create_time"], cmd0, 0, time.time(), want)
    return found


def _session_leader(proc: psutil.Process) -> bool:
    try:
        return os.getsid(proc.pid) == proc.pid
    except OSError:
        return False


def _inside(path: str, root: str) -> bool:
    return bool(path) and (path == root or path.startswith(f"{root.rstrip('/')}/"))


def _owning_state_dir(cwd: str) -> str | None:
    """The nearest folder at or above ``cwd`` that is a stackctl state dir."""
    path = Path(cwd.removesuffix(" (deleted)"))
    for folder in (path, *path.parents):
        if any((folder / marker).exists() for marker in STATE_MARKERS):
            return str(folder)
    return None


def is_ours(rec: PidRecord) -> bool:
    """True only if the pid is alive AND is still the process we started: the same start time,
    and the same command -- or, for a wrapper that exec'd another program, our owner mark."""
    proc = _process(rec.pid)
    if proc is None:
        return False
    try:
        started = proc.create_time()
    except psutil.Error:
        return False
    if rec.create_time is None or abs(started - rec.create_time) > 0.05:
        return False
    cmd0 = _cmdline0(proc)
    # redis-server rewrites its title ("redis-server 127.0.0.1:6379"): compare the first word's name
    if cmd0 and Path(rec.exe).name in (Path(cmd0).name, Path(cmd0.split()[0]).name):
        return True
    return bool(rec.owner) and _environ(proc).get(OWNER_ENV) == rec.owner


def _environ(proc: psutil.Process) -> dict[str, str]:
    try:
        return dict(proc.environ())
    except psutil.Error:
        return {}


def tree_pids(rec: PidRecord) -> set[int]:
    """The recorded process and all its descendants, when it is ours; empty otherwise."""
    if not is_ours(rec):
        return set()
    proc = psutil.Process(rec.pid)
    try:
        return {rec.pid, *(child.pid for child in proc.children(recursive=True))}
    except psutil.Error:
        return {rec.pid}


def _alive(pid: int) -> bool:
    return _process(pid) is not None


def terminate(rec: PidRecord, grace: float = 10.0) -> None:
    """SIGTERM the process group, wait up to ``grace`` s, then SIGKILL. Only if it is ours."""
    if not is_ours(rec):
        return
    _signal_group(rec.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(rec.pid)
        if not _alive(rec.pid):
            return
        time.sleep(0.05)
    _signal_group(rec.pid, signal.SIGKILL)
    for _ in range(100):
        _reap(rec.pid)
        if not _alive(rec.pid):
            return
        time.sleep(0.05)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # started with its own session: pgid == pid
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap(pid: int) -> None:
    """If we are the parent (same `up` invocation), collect the exit status: no zombies."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
