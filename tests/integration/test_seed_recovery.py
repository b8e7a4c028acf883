"""Seeding onto existing data, per series, against a real Prometheus 2.42 (native):

* issue 15 item 4: after preview-failures, `seed --scenario all-healthy --history 2h` gives every
  series new to the stack its full history (not the seconds since the first seed's last sample);
* issue 21 item 1: a seed killed with -9 while writing 24h of history leaves `seed status`
  saying so, and a rerun completes what is missing, so no series keeps a gap;
* issue 21 item 5: 24h of history, the documented maximum, is accepted on a fresh stack.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from helpers import REPO, isolated_env, require_binaries, stackctl

STEP = 15  # the scenarios' sample step (s)


@pytest.fixture
def native(tmp_path: Path) -> Iterator[dict[str, str]]:
    require_binaries("prometheus")
    env = isolated_env(tmp_path, ("prometheus",), STACKCTL_RUNTIME="native")
    up = stackctl("up", env=env)
    assert up.returncode == 0, up.stderr
    try:
        yield env
    finally:
        stackctl("down", "--volumes", env=env)


def _query(env: dict[str, str], promql: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{env['STACKCTL_PORT_PROMETHEUS']}/api/v1/query"
    body = requests.post(url, data={"query": promql}, timeout=60).json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def _first_samples(env: dict[str, str], selector: str, span: str = "25h") -> dict[str, float]:
    """Seconds since each series' first sample in the span (by its label set)."""
    now = time.time()
    rows = _query(env, f'min_over_time(timestamp(label_replace({selector}, "n", "$1", "__name__", "(.+)"))[{span}:1m])')
    return {json.dumps(r["metric"], sort_keys=True): now - float(r["value"][1]) for r in rows if _seeded(r)}


def _seeded(row: dict[str, Any]) -> bool:
    """Not the stack's own scrapes (`up` of Prometheus itself shares a name with the scenario's)."""
    return row["metric"].get("job") not in ("prometheus", "alertmanager", "pushgateway")


def _scenario_selector(name: str) -> str:
    from stackctl.seeding.catalog import load_scenario

    sc = load_scenario(name)
    names = {m.name for m in sc.metrics if m.type != "histogram"}
    names |= {f"{m.name}_{p}" for m in sc.metrics if m.type == "histogram" for p in ("bucket", "sum", "count")}
    return '{__name__=~"' + "|".join(sorted(names)) + '"}'


@pytest.mark.promise("R10")
@pytest.mark.native
def test_a_scenario_switch_gives_every_new_series_its_full_history(native: dict[str, str]) -> None:
    first = stackctl("seed", "--scenario", "preview-failures", "--duration", "0", "--random-seed", "1", env=native)
    assert first.returncode == 0, first.stderr
    second = stackctl("seed", "--scenario", "all-healthy", "--history", "2h", "--duration", "0", "--random-seed", "2",
                      env=native)
    assert second.returncode == 0, second.stderr
    assert "new to the stack get the full history" in second.stderr, second.stderr
    ages = _first_samples(native, _scenario_selector("all-healthy"), "3h")
    preview = _first_samples(native, _scenario_selector("preview-failures"), "3h")
    others = {k: v for k, v in ages.items() if k not in preview}
    assert len(others) > 50, len(others)
    short = {k: v for k, v in others.items() if v < 2 * 3600 - 120}
    assert not short, f"{len(short)} series without their 2h of history, e.g. {next(iter(short.items()))}"
    resets = _query(native, "resets(preview_generation_jobs_completed_total[3h])")
    assert resets and all(float(r["value"][1]) == 0 for r in resets)  # the continued ones never went back


def _status(env: dict[str, str]) -> dict[str, Any]:
    result = stackctl("seed", "status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.promise("R10")
@pytest.mark.native
def test_a_seed_killed_while_writing_history_is_completed_by_a_rerun(native: dict[str, str]) -> None:
    argv = [sys.executable, "-m", "stackctl", "seed", "--scenario", "all-healthy", "--history", "24h",
            "--duration", "0", "--random-seed", "4"]
    selector = _scenario_selector("all-healthy")
    proc = subprocess.Popen(argv, env=native, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not _query(native, f"count(last_over_time({selector}[25h]))"):  # the history has begun
            assert proc.poll() is None and time.monotonic() < deadline, "the seed ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    status = _status(native)
    assert status["state"] == "interrupted" and not status["running"], status
    assert "run the same seed again" in status["last_error"]
    rerun = stackctl(*argv[3:], env=native, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    status = _status(native)
    assert status["state"] == "finished" and status["samples"] > 0, status
    ages = _first_samples(native, selector)
    assert len(ages) > 50 and min(ages.values()) > 24 * 3600 - 120, "a series without its 24h"
    # no gaps: every series holds one sample per step from 24h ago to now (the rerun's cut
    # lies right after each series' own last sample)
    names = selector.split('"')[1].split("|")
    counts = [r for name in names for r in _query(native, f"count_over_time({name}[25h])") if _seeded(r)]
    expected = 24 * 3600 // STEP
    thin = [r for r in counts if float(r["value"][1]) < expected - 2]
    assert not thin, f"{len(thin)} series with gaps, e.g. {thin[0]['metric']}: {thin[0]['value'][1]} of {expected}"


@pytest.mark.native
def test_24h_of_history_is_accepted_on_prometheus_2_42(native: dict[str, str]) -> None:
    result = stackctl("seed", "--scenario", "preview-healthy", "--history", "24h", "--duration", "0", env=native,
                      timeout=600)
    assert result.returncode == 0, result.stderr
    ages = _first_samples(native, _scenario_selector("preview-healthy"))
    assert ages and min(ages.values()) > 24 * 3600 - 120, sorted(ages.values())[:3]
