"""The record of the detached seeder: where its status, arguments and log live, and a safe stop.

``stop`` signals a pid only when its identity matches the record -- the same start time, a command
line that runs our seeder module for this very state dir -- so a stale or reused pid never hits an
unrelated process or another project's seeder. ``stackctl.seeding.daemon`` writes this record; ``down``
and ``seed stop`` read it from here, below the seeding engine.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil

from stackctl.errors import SeedError

MODULE = "stackctl.seeding.daemon"


def args_path(state_dir: Path) -> Path:
    return state_dir / "secrets" / "seed-args.json"


def status_path(state_dir: Path) -> Path:
    return state_dir / "seed.json"


def log_path(state_dir: Path) -> Path:
    return state_dir / "seed.log"


def _write_status(state_dir: Path, data: dict[str, Any]) -> None:
    if data.get("pid") and "pid_started" not in data:
        data = {**data, "pid_started": _started(int(data["pid"])), "state_dir": str(state_dir)}
    tmp = status_path(state_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(status_path(state_dir))  # atomic: `seed status` never reads half a file
    if data.get("scenario"):
        from stackctl.state import record

        record.note_scenario(state_dir, str(data.get("scenario_file") or data["scenario"]))


def _started(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, ValueError):
        return None


def is_our_seeder(pid: int, started: float | None = None, state_dir: Path | None = None) -> bool:
    """Is ``pid`` our detached seeder -- and, given them, the one started at ``started`` for
    ``state_dir``? (A pid is reused; another project's seeder runs the same module.)"""
    try:
        proc = psutil.Process(pid)
        cmdline = proc.cmdline()
        created = proc.create_time()
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
    except (psutil.Error, ValueError):
        return False
    if MODULE not in cmdline:
        return False
    if started is not None and abs(created - started) > 0.05:
        return False
    return state_dir is None or str(state_dir) in cmdline[cmdline.index(MODULE) + 1:]


def _ours(data: dict[str, Any], state_dir: Path) -> bool:
    started = data.get("pid_started")
    return is_our_seeder(int(data["pid"]), float(started) if started is not None else None, state_dir)


def process_start(pid: int) -> float | None:
    """The process' start time: with the pid, its identity (a pid is reused, a start time not)."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, ValueError):
        return None


def _alive(data: dict[str, Any], state_dir: Path) -> bool:
    if not data.get("pid"):
        return False
    if data.get("foreground"):  # a `stackctl seed` in a terminal: the same pid *and* start time
        started = process_start(int(data["pid"]))
        return data.get("proc_start") is not None and started is not None and abs(started - float(data["proc_start"])) < 0.05
    return _ours(data, state_dir)


def read_status(state_dir: Path) -> dict[str, Any]:
    """The status file plus ``running`` (pid alive and still our seeder).

    A seeder that is gone without recording its end (kill -9, a crash) is ``interrupted`` when
    it was still writing the history, else ``dead``.
    """
    try:
        data = json.loads(status_path(state_dir).read_text())
    except (OSError, ValueError):
        return {"running": False, "state": "not started"}
    data["running"] = _alive(data, state_dir)
    if not data["running"] and data.get("state") in ("starting", "running"):
        if data.get("phase") == "history":
            data["state"] = "interrupted"
            data["last_error"] = (f"the seeder (pid {data.get('pid')}) ended while writing the history: it is "
                                  "incomplete; run the same seed again to complete it (each series continues "
                                  "from its own last sample)")
        else:
            data["state"] = "dead"
    return data


def stop(state_dir: Path, timeout: float = 10.0) -> dict[str, Any]:
    """Stop the detached seeder; the result's ``stopped`` says whether one was really signalled."""
    data = read_status(state_dir)
    if not data["running"] or data.get("foreground"):
        return {**data, "stopped": False}
    pid = int(data["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _ours(data, state_dir):
        time.sleep(0.1)
    if _ours(data, state_dir):
        raise SeedError(f"the seeder (pid {pid}) did not stop within {timeout:.0f}s",
                        hint=f"see {log_path(state_dir)}; kill -9 {pid} if it hangs")
    return {**read_status(state_dir), "stopped": True}
