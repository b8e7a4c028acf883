"""The benchmark runner works end to end: ``python -m benchmarks --quick --json``.

This is the only place CI runs the benchmarks, once, to prove the runner works. Nothing here
is timed: the speed targets are measurements (benchmarks/RESULTS.md), not test assertions.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from helpers import NATIVE_BINARIES, REPO, docker_ready, require_binaries
from stackctl.runtime.pids import OWNER_ENV

# The contract: these keys, whatever the implementation calls them internally.
FIGURES = (
    "cli_startup_s", "time_to_healthy_native_s", "time_to_healthy_docker_s", "time_to_populated_s", "time_to_firing_s", "verify_s", "verify_dashboards_s", "report_s",
    "synth_infer_history_s", "synth_seed_s", "backfill_samples_per_s", "promtool_samples_per_s", "ingest_ceiling_samples_per_s",
    "backfill_vs_promtool_ratio", "backfill_vs_ceiling_ratio", "stack_rss_native_mb", "stack_rss_docker_mb",
)


def _check_figure(name: str, fig: Any) -> None:
    assert isinstance(fig, dict), f"{name}: {fig!r}"
    if "skipped" in fig:
        assert isinstance(fig["skipped"], str) and fig["skipped"], f"{name}: a skip needs a reason"
        return
    assert set(fig) == {"median", "min", "max", "runs"}, f"{name}: {fig}"
    runs = fig["runs"]
    assert isinstance(runs, list) and runs, f"{name}: no runs"
    for value in (*runs, fig["median"], fig["min"], fig["max"]):
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, f"{name}: {fig}"
    assert fig["min"] <= fig["median"] <= fig["max"], f"{name}: {fig}"


def _leftover_pids(state_root: Path) -> list[str]:
    """Processes the runner's native stacks started that are still alive: found by the owner
    mark every native process carries (the state dirs themselves are gone after down --volumes)."""
    alive = []
    for proc in psutil.process_iter(["pid", "environ", "cwd", "cmdline"]):
        owner = (proc.info["environ"] or {}).get(OWNER_ENV, "")
        cwd = proc.info["cwd"] or ""
        if owner.startswith(f"{state_root}/") or cwd.startswith(f"{state_root}/"):
            alive.append(f"pid {proc.info['pid']}: {' '.join(proc.info['cmdline'] or [])[:120]}")
    return alive


def _leftover_containers(state_root: Path) -> list[str]:
    """Containers of a bench-* project whose mounts come from under the runner's state root."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.stackctl.project"],
                         capture_output=True, text=True, timeout=30).stdout.split()
    if not ids:
        return []
    inspect = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, timeout=60)
    left = []
    for item in json.loads(inspect.stdout or "[]"):
        project = (item.get("Config", {}).get("Labels") or {}).get("io.stackctl.project", "")
        sources = [m.get("Source", "") for m in item.get("Mounts") or []]
        if project.startswith("bench-") and any(src.startswith(str(state_root)) for src in sources):
            left.append(f"{project}: {item.get('Name')}")
    return left


@pytest.mark.native
def test_quick_run_reports_every_figure_and_leaves_nothing_running(tmp_path: Path) -> None:
    require_binaries(*NATIVE_BINARIES)
    docker = docker_ready() is None  # with an engine and the stand-ins, the docker figures run too
    argv = [sys.executable, "-m", "benchmarks", "--quick", "--json", "--state-root", str(tmp_path)]
    if not docker:
        argv.append("--no-docker")
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstderr:\n{proc.stderr[-4000:]}"
    report = json.loads(proc.stdout)

    assert set(report) == {*FIGURES, "meta"}
    for name in FIGURES:
        _check_figure(name, report[name])
    for name in FIGURES:
        if not name.endswith("docker_s") and not name.endswith("docker_mb"):
            assert "skipped" not in report[name], f"{name} skipped: {report[name]['skipped']}"
    if docker:
        assert "median" in report["time_to_healthy_docker_s"], report["time_to_healthy_docker_s"]
    assert report["meta"]["machine"]["cores"] >= 1
    assert report["meta"]["benchmarks"]["backfill"]["samples"] > 0
    assert "time_to_healthy_native_s" in proc.stderr  # the table

    assert not list(tmp_path.glob("bench-*")), "down --volumes removes every file of a benchmark's project"
    assert _leftover_pids(tmp_path) == []
    if docker:
        assert _leftover_containers(tmp_path) == []
