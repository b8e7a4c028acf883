"""The README's quickstart, as a user runs it: up seeded, verify, alerts, down."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from helpers import REPO, isolated_env, require_binaries, stackctl

pytestmark = pytest.mark.native


def test_readme_quickstart_flow(tmp_path: Path) -> None:
    require_binaries("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")
    readme = (REPO / "README.md").read_text()
    assert "stackctl up --seed preview-failures" in readme and "python -m pytest" in readme
    env = isolated_env(tmp_path, ("prometheus", "alertmanager", "pushgateway", "redis"), STACKCTL_RUNTIME="native")
    try:
        up = stackctl("up", "--seed", "preview-failures", env=env)
        assert up.returncode == 0, up.stderr
        assert "seeding preview-failures in the background" in up.stderr
        deadline, names = time.monotonic() + 60, set()
        while time.monotonic() < deadline and "PreviewGenerationHighFailureRate" not in names:
            alerts = json.loads(stackctl("alerts", "--json", env=env).stdout)
            names = {a["alertname"] for a in alerts if a["source"] == "prometheus" and a["state"] in ("pending", "firing")}
            time.sleep(1)
        assert "PreviewGenerationHighFailureRate" in names
        verify = stackctl("verify", env=env)
        assert verify.returncode == 0, verify.stderr[-3000:]
        assert "checking the packs of scenario preview-failures: preview" in verify.stderr
        seeder_pid = json.loads((Path(env["STACKCTL_STATE_DIR"]) / "seed.json").read_text())["pid"]
    finally:
        down = stackctl("down", "--volumes", env=env)
    assert down.returncode == 0 and "stopped: seeder" in down.stderr
    assert not running(seeder_pid), "down stopped the background seeder"


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie lingers until init reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
