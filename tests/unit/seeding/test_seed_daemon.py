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
