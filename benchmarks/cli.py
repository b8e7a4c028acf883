"""How fast the CLI starts: ``stackctl --version`` and ``stackctl status`` on a project that is
not running (what a user, a shell prompt or a script pays on every call).

Each repetition runs both commands several times as fresh processes (the console script's
Python, as a user would) and keeps the median of each; the figure is the slower of the two
medians, so both must meet the target.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from benchmarks.model import Measurement
from stackctl.proc import run

FIGURES = ("cli_startup_s",)
CALLS = 7  # per command and repetition: enough for a stable median on a shared machine


def _env(state_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_")}
    project = f"bench-absent-{uuid.uuid4().hex[:8]}"
    env.update({"STACKCTL_PROJECT": project, "STACKCTL_STATE_DIR": str(state_root / project)})
    return env


def _median_seconds(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    times = []
    for _ in range(CALLS):
        started = time.perf_counter()
        run(argv, timeout=60, check=True, env=env, cwd=cwd)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cli_startup(state_root: Path) -> Measurement:
    env = _env(state_root)
    base = [sys.executable, "-m", "stackctl"]
    version = _median_seconds([*base, "--version"], env, state_root)
    status = _median_seconds([*base, "status"], env, state_root)
    return Measurement({"cli_startup_s": max(version, status)},
                       {"version_median_s": version, "status_absent_median_s": status, "calls": CALLS})
