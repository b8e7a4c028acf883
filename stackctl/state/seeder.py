"""The record of the detached seeder: where its status, arguments and log live, and a safe stop.

``stop`` signals a pid only after its command line shows it is still our seeder, so a stale pid
file never hits an unrelated process. ``stackctl.seeding.daemon`` writes this record; ``down``
and ``seed stop`` read it from here, below the seeding engine.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from stackctl.errors import SeedError

MODULE = "stackctl.seeding.daemon"


def args_path(state_dir: Path) -> Path:
    return state_dir / "secrets" / "seed-args.json"


def status_path(state_dir: Path) -> Path:
    return state_dir / "seed.json"


def log_path(state_dir: Path) -> Path:
    return state_dir / "seed.log"


def _write_status(state_dir: Path, data: dict[str, Any]) -> None:
    tmp = status_path(state_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(status_path(state_dir))  # atomic: `seed status` never reads half a file


def is_our_seeder(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return MODULE.encode() in cmdline


def process_start(pid: int) -> int | None:
    """The process' start time (clock ticks since boot): with the pid, its identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])  # field 22; the command name may hold spaces


def _alive(data: dict[str, Any]) -> bool:
    if not data.get("pid"):
        return False
    pid = int(data["pid"])
    if data.get("foreground"):  # a `stackctl seed` in a terminal: the same pid *and* start time
        return data.get("proc_start") is not None and process_start(pid) == data["proc_start"]
    return is_our_seeder(pid)


def read_status(state_dir: Path) -> dict[str, Any]:
    """The status file plus ``running`` (pid alive and still our seeder).

    A seeder that is gone without recording its end (kill -9, a crash) is ``interrupted`` when
    it was still writing the history, else ``dead``.
    """
    try:
        data = json.loads(status_path(state_dir).read_text())
    except (OSError, ValueError):
        return {"running": False, "state": "not started"}
    data["running"] = _alive(data)
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
    while time.monotonic() < deadline and is_our_seeder(pid):
        time.sleep(0.1)
    if is_our_seeder(pid):
        raise SeedError(f"the seeder (pid {pid}) did not stop within {timeout:.0f}s",
                        hint=f"see {log_path(state_dir)}; kill -9 {pid} if it hangs")
    return {**read_status(state_dir), "stopped": True}
