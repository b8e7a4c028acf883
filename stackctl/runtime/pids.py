"""Pid records for native processes, and stale-pid detection.

A pid file alone is not proof: after a reboot or a crash the pid may belong to something
else. A record stores the process start time (from /proc) and argv[0]; a pid is ours only
when both still match, and stackctl never signals a process that is not ours.

Records can be lost (state dir deleted by hand, a full disk). Every process stackctl starts
therefore also carries its owner in its environment (``STACKCTL_NATIVE_OWNER=<state dir>``,
``STACKCTL_NATIVE_SERVICE=<name>``), the native counterpart of a container label:
``find_owned`` finds them again from /proc.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

from stackctl.errors import StateError
from stackctl.errors import disk_hint
from stackctl.state.dirs import read_json, write_json

OWNER_ENV = "STACKCTL_NATIVE_OWNER"
SERVICE_ENV = "STACKCTL_NATIVE_SERVICE"


@dataclass(frozen=True)
class PidRecord:
    service: str
    pid: int
    start_ticks: int | None
    exe: str
    port: int
    started_at: float


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command may contain spaces/parens: fields start after the last ')'
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[19])


def _cmdline0(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def record_for(service: str, pid: int, exe: str, port: int) -> PidRecord:
    return PidRecord(service, pid, _start_ticks(pid), exe, port, time.time())


def save(run_dir: Path, rec: PidRecord) -> None:
    write_json(run_dir / f"{rec.service}.json", asdict(rec))


def load(run_dir: Path, service: str) -> PidRecord | None:
    data = read_json(run_dir / f"{service}.json")
    if not isinstance(data, dict):
        return None
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
    environment when setting their title, like redis-server -- by a working directory inside
    the state dir (stackctl starts them there) plus an executable name in ``names`` (basename
    -> service). Only session leaders count (stackctl starts each service in its own
    session); their children are stopped with their process group.
    """
    want = f"{OWNER_ENV}={state_dir}".encode()
    found: dict[str, PidRecord] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if _session(stat) != pid or not _alive(pid):
            continue
        if want in environ:
            service = next((e.split(b"=", 1)[1].decode() for e in environ if e.startswith(f"{SERVICE_ENV}=".encode())), "")
        elif _inside(_cwd(pid), state_dir):
            words = (_cmdline0(pid) or "").split()
            service = names.get(Path(words[0]).name, "") if words else ""
        else:
            continue
        if service:
            found[service] = PidRecord(service, pid, _start_ticks(pid), _cmdline0(pid) or "", 0, time.time())
    return found


def _cwd(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd").removesuffix(" (deleted)")
    except OSError:
        return ""


def _inside(path: str, root: Path) -> bool:
    return bool(path) and (path == str(root) or path.startswith(f"{root}/"))


def _session(stat: str) -> int | None:
    try:
        return int(stat[stat.rindex(")") + 2:].split()[3])
    except (ValueError, IndexError):
        return None


def is_ours(rec: PidRecord) -> bool:
    """True only if the pid is alive AND is still the process we started."""
    if not _alive(rec.pid):
        return False
    ticks = _start_ticks(rec.pid)
    if ticks is not None and rec.start_ticks is not None:
        return ticks == rec.start_ticks
    cmd0 = _cmdline0(rec.pid)
    return cmd0 is not None and Path(cmd0).name == Path(rec.exe).name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is dead for our purposes
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


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
