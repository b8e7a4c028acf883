"""The detached seeder's safety: a stale pid file never gets an unrelated process signalled."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from stackctl.errors import UsageError
from stackctl.seeding import daemon
from stackctl.seeding.engine import check_history


def test_stale_pid_of_a_live_other_process_is_never_signalled(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        daemon.status_path(tmp_path).write_text(json.dumps({"pid": sleeper.pid, "scenario": "preview-healthy",
                                                             "state": "running"}))
        status = daemon.read_status(tmp_path)
        assert not status["running"] and status["state"] == "dead"
        assert not daemon.stop(tmp_path, timeout=1)["running"]
        assert sleeper.poll() is None  # still alive: stop() sent it nothing
        assert not daemon.read_status(tmp_path)["running"]
    finally:
        sleeper.kill()
        sleeper.wait(timeout=5)


@pytest.mark.parametrize("history", [timedelta(hours=25), timedelta(0)])
def test_bad_history_is_a_usage_error(history: timedelta) -> None:
    with pytest.raises(UsageError) as exc:
        check_history(history, timedelta(hours=24))
    assert exc.value.exit_code == 2


def test_a_seeder_gone_while_writing_history_is_reported_interrupted(tmp_path: Path) -> None:
    """Issue 21 item 1: kill -9 mid-history must not read as finished (or merely dead)."""
    gone = subprocess.Popen(["true"])
    gone.wait(timeout=5)
    daemon.status_path(tmp_path).write_text(json.dumps({"pid": gone.pid, "scenario": "all-healthy", "state": "starting",
                                                         "phase": "history"}))
    status = daemon.read_status(tmp_path)
    assert status["state"] == "interrupted" and not status["running"]
    assert "run the same seed again" in status["last_error"]


def test_a_foreground_seeder_is_ours_only_with_its_start_time(tmp_path: Path) -> None:
    daemon.record_foreground(tmp_path, "preview-healthy")
    assert daemon.read_status(tmp_path)["running"]  # this very process, same start time
    data = json.loads(daemon.status_path(tmp_path).read_text())
    daemon.status_path(tmp_path).write_text(json.dumps({**data, "proc_start": data["proc_start"] - 1}))
    status = daemon.read_status(tmp_path)  # a reused pid: same number, another process
    assert not status["running"] and status["state"] == "interrupted"
