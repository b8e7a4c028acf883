"""``seed --detach``: the seeder as a background process, with a status file and a safe stop.

The child runs ``python -m stackctl.seeding.daemon <state_dir> <json args>`` in its own
session, logs to ``<state_dir>/seed.log`` and keeps ``<state_dir>/seed.json`` up to date.
``stop`` signals a pid only when its identity (start time, command, state dir; see
``stackctl.state.seeder``) shows it is still our seeder, so a reused pid never hits another process.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from stackctl.errors import SeedError
from stackctl.proc import spawn_detached
from stackctl.state.dirs import write_atomic
from stackctl.state.seeder import (  # noqa: F401  (the record lives in state/)
    MODULE,
    _write_status,
    args_path,
    is_our_seeder,
    log_path,
    process_start,
    read_status,
    status_path,
    stop,
)


def start(state_dir: Path, args: dict[str, Any]) -> int:
    """Start the detached seeder; returns its pid.

    ``args``: scenario (name or path), targets (SeedTargets fields), history (s), duration (s or
    None), random_seed, and optionally tick and step (s; the engine's defaults otherwise).
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    current = read_status(state_dir)
    if current.get("running"):
        raise SeedError(f"a seeder is already running (pid {current['pid']}, scenario {current.get('scenario')})",
                        hint="stop it first: stackctl seed stop")
    # The arguments hold target URLs, maybe with a Redis password: a 0600 file, never argv
    # (every user can read /proc/<pid>/cmdline).
    write_atomic(args_path(state_dir), json.dumps(args), 0o600)
    argv = [sys.executable, "-m", MODULE, str(state_dir)]
    proc = spawn_detached(argv, log_file=log_path(state_dir))  # outlives us, in its own session
    _write_status(state_dir, {"pid": proc.pid, "scenario": args["scenario"], **_file_of(args["scenario"]), "state": "starting", "phase": "history",
                              "since": time.time(), "samples": 0, "last_error": None})
    return proc.pid


def _file_of(scenario: str) -> dict[str, str]:
    """A scenario given as a file: its path, which `verify` loads (its name may be in no catalog:
    one `scenarios generate` wrote); the status shows the scenario's name."""
    return {"scenario_file": str(Path(scenario).resolve())} if scenario.endswith((".yaml", ".yml")) else {}


def record_foreground(state_dir: Path, scenario: str, report: Any = None, phase: str = "history",
                      state: str | None = None, file: str | None = None) -> None:
    """A foreground `stackctl seed` records its scenario too, so `verify` knows what was seeded.

    Refuses while a detached seeder runs: two seeders would write the same series, and the
    record would hide the detached one from `seed stop` and `down`.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    current = read_status(state_dir)
    if report is None and current.get("running") and not current.get("foreground"):
        raise SeedError(f"a detached seeder is running (pid {current['pid']}, scenario {current.get('scenario')})",
                        hint="stop it first: stackctl seed stop")
    data = {"pid": os.getpid(), "proc_start": process_start(os.getpid()), "scenario": scenario,
            "state": state or ("running" if report is None else "finished"), "phase": phase, "foreground": True,
            "since": current.get("since", time.time()) if report is not None or phase != "history" else time.time(),
            "samples": 0, "last_error": None}
    if report is not None:
        data.update(_report_dict(report))
    if file:
        data["scenario_file"] = file
    _write_status(state_dir, data)






def _run(state_dir: Path, args: dict[str, Any]) -> int:
    from stackctl.seeding.catalog import load_scenario
    from stackctl.seeding.engine import SeedReport, SeedTargets, seed
    from stackctl.seeding.restore_hook import alert_state_hook, stack_config

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    base = {"pid": os.getpid(), "scenario": args["scenario"], **_file_of(args["scenario"]), "since": time.time()}

    def update(report: SeedReport, state: str = "running") -> None:  # called once the history is in
        _write_status(state_dir, {**base, "state": state, "phase": "live", "updated": time.time(), **_report_dict(report)})

    pace = {k: float(args[k]) for k in ("tick", "step") if args.get(k)}
    targets = SeedTargets(**args["targets"])

    def progress(message: str) -> None:
        print(message, flush=True)

    try:
        hook = alert_state_hook(stack_config(args.get("stack")), targets, args["history"], progress)
        report = seed(load_scenario(args["scenario"]), targets,
                      timedelta(seconds=args["history"]), args.get("duration"), args.get("random_seed"),
                      progress=progress, on_tick=update, after_history=hook, **pace)  # type: ignore[arg-type]
    except KeyboardInterrupt:  # stopped while the history was still being written
        _write_status(state_dir, {**base, "state": "interrupted", "phase": "history", "stopped_by": "interrupt",
                                  "updated": time.time(), "last_error": "stopped while writing the history: it is "
                                  "incomplete; run the same seed again to complete it"})
        return 0
    except Exception as exc:  # the status file is the only place a detached failure shows
        _write_status(state_dir, {**base, "state": "failed", "last_error": str(exc), "updated": time.time()})
        print(f"error: {exc}", flush=True)
        return 1
    update(report, "stopped")
    return 0


def _report_dict(report: Any) -> dict[str, Any]:
    data = asdict(report)
    data.pop("backfill", None)
    return data


if __name__ == "__main__":
    sys.exit(_run(Path(sys.argv[1]), json.loads(args_path(Path(sys.argv[1])).read_text())))
