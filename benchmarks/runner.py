"""The run plan: which benchmarks, at what size, how often; and the machine they ran on."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from benchmarks import backfill, cli, firing, report, startup, synthesis, verification
from benchmarks.figures import Results
from benchmarks.model import Measurement, Skip
from stackctl import __version__
from stackctl.errors import StackctlError
from stackctl.proc import run

Log = Callable[[str], None]
FIGURE_ORDER = (
    *cli.FIGURES, "time_to_healthy_native_s", "time_to_healthy_docker_s", "time_to_populated_s", "time_to_firing_s", "verify_s", "verify_dashboards_s", "report_s",
    "synth_infer_history_s", "synth_seed_s", *backfill.FIGURES, "stack_rss_native_mb", "stack_rss_docker_mb",
)
# The full run's history: every series of every shipped pack (all-healthy, 300 series),
# 20 h at a 7.5 s step -> 9,601 samples per series, 2,880,300 in all; --quick: 20 minutes.
FULL_DATA = backfill.Dataset("all-healthy", history_s=20 * 3600, step_s=7.5)
QUICK_DATA = backfill.Dataset("all-healthy", history_s=20 * 60, step_s=7.5)
# http-service's pack has the most panels (24 over 4 dashboards), all of them fed by metrics.
POPULATED_SCENARIO = "http-error-spike"


@dataclass(frozen=True)
class Plan:
    repeat: int
    quick: bool
    docker: bool
    scenario: str = POPULATED_SCENARIO

    @property
    def data(self) -> backfill.Dataset:
        return QUICK_DATA if self.quick else FULL_DATA


@dataclass(frozen=True)
class Bench:
    name: str
    figures: tuple[str, ...]
    run_once: Callable[[Path], Measurement]


def benches(plan: Plan) -> list[Bench]:
    out = [Bench("cli start-up", cli.FIGURES, cli.cli_startup),
           Bench("native start-up", startup.NATIVE_FIGURES, startup.healthy_native)]
    if plan.docker:
        out.append(Bench("docker start-up", startup.DOCKER_FIGURES, startup.healthy_docker))
    out += [
        Bench("time to populated", ("time_to_populated_s",), lambda root: verification.time_to_populated(root, plan.scenario)),
        Bench("time to firing", ("time_to_firing_s",), firing.time_to_firing),
        Bench("verify", ("verify_s",), verification.verify_time),
        Bench("report", ("report_s",), report.report_time),
        Bench("verify user dashboards", ("verify_dashboards_s",), verification.verify_user_dashboards_time),
        Bench("synthesis", ("synth_infer_history_s", "synth_seed_s"), synthesis.synth_speed),
        Bench("backfill", backfill.FIGURES, lambda root: backfill.backfill_rates(root, plan.data)),
    ]
    return out


def run_plan(plan: Plan, state_root: Path, log: Log) -> tuple[Results, dict[str, Any]]:
    results, notes = Results(FIGURE_ORDER), {}
    if not plan.docker:
        results.skip(startup.DOCKER_FIGURES, "docker benchmarks turned off (--no-docker)")
    for bench in benches(plan):
        notes[bench.name] = _run_bench(bench, plan.repeat, state_root, results, log)
    return results, notes


def _run_bench(bench: Bench, repeat: int, state_root: Path, results: Results, log: Log) -> dict[str, Any]:
    """Every repetition of one benchmark; a failure is recorded for its figures (with the
    message) and the other benchmarks still run."""
    notes: dict[str, Any] = {}
    for i in range(repeat):
        log(f"{bench.name}: run {i + 1}/{repeat}")
        try:
            measured = bench.run_once(state_root)
        except Skip as exc:
            log(f"{bench.name}: skipped: {exc.reason}")
            results.skip(bench.figures, exc.reason)
            return {"skipped": exc.reason}
        except (StackctlError, RuntimeError, OSError, ValueError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            log(f"{bench.name}: failed: {message}")
            results.fail(bench.figures, message)
            return {"error": message}
        results.add(measured.values)
        notes = measured.notes
    return notes


# -- the machine ------------------------------------------------------------------------------

def _first_line(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    result = run(argv, timeout=30, check=False)
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0] if lines and result.returncode == 0 else "unavailable"


def _meminfo_gib() -> float:
    import psutil

    return round(psutil.virtual_memory().total / 1024**3, 1)


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(), "memory_gib": _meminfo_gib(), "os": _os_name(), "kernel": platform.release(),
        "python": sys.version.split()[0], "stackctl": __version__,
        "prometheus": _first_line(["prometheus", "--version"]),
        "promtool": _first_line(["promtool", "--version"]),
        "docker": _first_line(["docker", "version", "--format", "{{.Server.Version}}"]),
    }


def meta(plan: Plan, notes: dict[str, Any], load_before: tuple[float, float, float]) -> dict[str, Any]:
    # The load average shows whether something else competed for the cores meanwhile
    # (other test runs on a shared machine): figures from a busy machine are pessimistic.
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": "quick" if plan.quick else "full", "repeat": plan.repeat,
        "machine": machine(), "loadavg_before": list(load_before), "loadavg_after": list(os.getloadavg()),
        "benchmarks": notes,
    }
