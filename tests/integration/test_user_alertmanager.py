"""stackctl.yaml `alertmanager:`: extra receivers/routes, or a whole override file, through the
real renderer, amtool and a real Alertmanager."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import isolated_env, require_binaries, stackctl
from stackctl.config import load_config
from stackctl.render.configs import render

SINK = "http://notify-sink:9097/cgi-bin/notify"
EXTRA = f"""
alertmanager:
  receivers:
    - name: team-x
      webhook_configs: [{{url: "{SINK}", send_resolved: false}}]
  routes:
    - receiver: team-x
      matchers: ['team="x"']
"""


def rendered_alertmanager(tmp_path: Path, text: str) -> Path:
    (tmp_path / "stackctl.yaml").write_text(text)
    cfg = load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)
    render(cfg, "docker")
    return cfg.state_dir / "rendered" / "alertmanager" / "alertmanager.yml"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["amtool", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.native
def test_extra_routes_are_merged_and_valid(tmp_path: Path) -> None:
    require_binaries("amtool")
    path = rendered_alertmanager(tmp_path, EXTRA)
    assert amtool("check-config", str(path)).returncode == 0
    route = amtool("config", "routes", "test", f"--config.file={path}", 'team=x', "severity=critical")
    assert route.stdout.strip() == "team-x", route.stdout + route.stderr
    # the built-in severity routes still work for everything else
    other = amtool("config", "routes", "test", f"--config.file={path}", "severity=critical", "pack=luneo")
    assert other.stdout.strip() == "local-page"


@pytest.mark.native
def test_override_file_replaces_the_builtin_config(tmp_path: Path) -> None:
    require_binaries("amtool")
    (tmp_path / "mine.yml").write_text(f"route: {{receiver: only-me}}\nreceivers:\n  - name: only-me\n    webhook_configs: [{{url: '{SINK}'}}]\n")
    path = rendered_alertmanager(tmp_path, "alertmanager:\n  config: mine.yml\n")
    assert amtool("check-config", str(path)).returncode == 0
    assert amtool("config", "routes", "test", f"--config.file={path}", "severity=critical").stdout.strip() == "only-me"


@pytest.mark.native
def test_user_route_reaches_the_sink_through_a_real_alertmanager(tmp_path: Path) -> None:
    require_binaries("prometheus", "prometheus-alertmanager", "redis-server")
    assert shutil.which("amtool")
    (tmp_path / "stackctl.yaml").write_text(EXTRA)
    env = isolated_env(tmp_path, ("prometheus", "alertmanager"), STACKCTL_RUNTIME="native")
    try:
        up = stackctl("up", env=env, cwd=tmp_path)
        assert up.returncode == 0, up.stderr
        fired = stackctl("fire-alerts", "--json", env=env, cwd=tmp_path, timeout=120)
        assert fired.returncode == 0, fired.stderr
        reached = {tuple(d["expected"]): tuple(d["reached"]) for d in json.loads(fired.stdout)}
        assert reached.get(("team-x",)) == ("team-x",), reached
    finally:
        stackctl("down", "--volumes", env=env, cwd=tmp_path)
