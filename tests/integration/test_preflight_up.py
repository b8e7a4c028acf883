"""`stackctl up` refuses what Grafana or Alertmanager would reject before anything starts, names
the user's file and line, and a fixed file then comes up without `down` (issue 18).

One native stack per module (Prometheus, Alertmanager and the rest that run here; Grafana and
Loki are left out for want of a binary, their dashboards and provisioning are still checked).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
import requests

from helpers import isolated_env, require_binaries, stackctl

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.native


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    require_binaries("prometheus", "prometheus-alertmanager", "amtool", "promtool")
    home = tmp_path_factory.mktemp("preflight")
    (home / "dash").mkdir()
    env = isolated_env(home, STACKCTL_RUNTIME="native")
    del env["STACKCTL_SERVICES"]  # the default stack: Grafana is part of it (left out here), so its inputs are checked
    try:
        yield home, env
    finally:
        stackctl("down", "--volumes", env=env, cwd=home)


def _up(home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return stackctl("up", env=env, cwd=home, timeout=240)


def _running(home: Path, env: dict[str, str]) -> list[str]:
    out = stackctl("status", "--json", env=env, cwd=home)
    return [s["service"] for s in json.loads(out.stdout or "[]") if s.get("state") == "healthy"] if out.returncode == 0 else []


def _write_config(home: Path, alertmanager: str | None = None) -> None:
    text = "dashboards: [dash]\n"
    if alertmanager:
        text += f"alertmanager:\n  config: {alertmanager}\n"
    (home / "stackctl.yaml").write_text(text)


def test_1_invalid_dashboard_stops_up_before_anything_starts(project: tuple[Path, dict[str, str]]) -> None:
    home, env = project
    shutil.copy(FIXTURES / "grafana" / "dashboards" / "invalid" / "past-24-columns.json", home / "dash" / "service.json")
    _write_config(home)
    up = _up(home, env)
    assert up.returncode != 0
    assert f"{home / 'dash' / 'service.json'}:73: panel 2 'Errors': panels[1].gridPos.x" in up.stderr, up.stderr
    assert "hint" in up.stderr.lower()
    assert not (Path(env["STACKCTL_STATE_DIR"]) / "rendered").exists(), "nothing rendered"
    assert _running(home, env) == [], "nothing started"


def test_2_the_fixed_dashboard_comes_up(project: tuple[Path, dict[str, str]]) -> None:
    home, env = project
    shutil.copy(FIXTURES / "grafana" / "dashboards" / "valid" / "service.json", home / "dash" / "service.json")
    up = _up(home, env)
    assert up.returncode == 0, up.stderr
    assert {"prometheus", "alertmanager"} <= set(_running(home, env))


def test_3_upstream_alertmanager_example_is_refused_with_the_users_line(project: tuple[Path, dict[str, str]]) -> None:
    """Observed: a bare `500 ... /-/reload`, then after `down` a failing `up` naming line 75 of the rendered file."""
    home, env = project
    rendered = Path(env["STACKCTL_STATE_DIR"]) / "rendered" / "alertmanager" / "alertmanager.yml"
    good = rendered.read_bytes()
    shutil.copy(FIXTURES / "alertmanager" / "simple.yml", home / "simple.yml")
    _write_config(home, "simple.yml")
    up = _up(home, env)
    assert up.returncode != 0
    assert f"{home / 'simple.yml'}:126: field tracing not found in type config.plain" in up.stderr, up.stderr
    assert "500 Server Error" not in up.stderr
    assert rendered.read_bytes() == good, "the rejected render did not replace the last good one"
    am = f"http://127.0.0.1:{env['STACKCTL_PORT_ALERTMANAGER']}"
    assert requests.get(f"{am}/-/ready", timeout=10).ok, "the running Alertmanager is untouched"
    # and after `down`, the next `up` is not poisoned by a rejected file on disk
    assert stackctl("down", env=env, cwd=home).returncode == 0
    _write_config(home)
    up = _up(home, env)
    assert up.returncode == 0, up.stderr


def test_4_fixed_override_reloads_without_down(project: tuple[Path, dict[str, str]]) -> None:
    home, env = project
    fixed = (FIXTURES / "alertmanager" / "simple.yml").read_text().split("# Traces of notifications")[0]
    (home / "simple.yml").write_text(fixed)
    _write_config(home, "simple.yml")
    up = _up(home, env)
    assert up.returncode == 0, up.stderr
    am = f"http://127.0.0.1:{env['STACKCTL_PORT_ALERTMANAGER']}"
    status = requests.get(f"{am}/api/v2/status", timeout=10).json()
    assert "team-DB-pager" in status["config"]["original"], "Alertmanager runs the user's config"


def test_5_invalid_provisioning_file_stops_up(project: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    home, env = project
    assets = tmp_path / "assets"
    for name in ("compose", "grafana", "prometheus", "alertmanager", "loki", "fixtures"):
        shutil.copytree(REPO / name, assets / name)
    datasources = assets / "grafana" / "provisioning" / "datasources" / "datasources.yml"
    datasources.write_text(datasources.read_text().replace("access: proxy\n    url: http://loki", "access: browser\n    url: http://loki"))
    up = stackctl("up", env={**env, "STACKCTL_ASSETS": str(assets)}, cwd=home, timeout=240)
    assert up.returncode != 0
    assert f"{datasources}:" in up.stderr and "datasources[1].access: access 'browser' must be proxy or direct" in up.stderr, up.stderr
    assert {"prometheus", "alertmanager"} <= set(_running(home, env)), "the running stack is untouched"


@pytest.mark.docker
def test_docker_runtime_checks_with_the_images_own_amtool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no amtool on PATH, the Alertmanager image's amtool gives the verdict (same version as what runs)."""
    from helpers import STANDIN_IMAGES, require_docker
    from stackctl.config import load_config
    from stackctl.errors import ConfigError
    from stackctl.render.configs import render

    require_docker()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(shutil.which("docker") or "docker")
    monkeypatch.setenv("PATH", str(bin_dir))
    shutil.copy(FIXTURES / "alertmanager" / "simple.yml", tmp_path / "simple.yml")
    (tmp_path / "stackctl.yaml").write_text("alertmanager:\n  config: simple.yml\n")
    env = {"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state"),
           "STACKCTL_IMAGE_ALERTMANAGER": STANDIN_IMAGES["alertmanager"]}
    cfg = load_config(env=env, cwd=tmp_path)
    with pytest.raises(ConfigError) as info:
        render(cfg, "docker")
    assert f"{tmp_path / 'simple.yml'}:126: field tracing not found" in info.value.message
