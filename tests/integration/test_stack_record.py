"""Issue 13's "Why" bullets for the record of the running stack and the output, through the real
CLI against one real (native) Prometheus shared by the module:

- a stack started with ports from one shell's environment is found from a fresh shell by
  verify, alerts, targets (all read the record);
- a project that is not running says so, even when a server answers on its default port;
- tables go to stdout (`status | grep`), alert names are never cut, numbers are rounded;
- `up` from another folder names both config files and what would be dropped, and refuses;
- `up --runtime docker` on a natively running project says to `down` first;
- `down --volumes` removes every file of the project, seed.json included, so a fresh stack's
  `verify` does not check the previous scenario.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from helpers import REPO, isolated_env, require_binaries, require_docker, stackctl

pytestmark = pytest.mark.native

LONG_ALERT = "PreviewGenerationHighFailureRateCriticalForSeveralMinutes"
RULES = f"""groups:
  - name: record-test
    rules:
      - alert: {LONG_ALERT}
        expr: vector(0.26989619377162627) > 0
        labels: {{severity: page}}
"""


def fresh_shell(env: dict[str, str]) -> dict[str, str]:
    """The same project from another shell: no port variables, only where its state lives."""
    return {k: v for k, v in env.items() if not k.startswith("STACKCTL_PORT_")}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    require_binaries("prometheus")
    root = tmp_path_factory.mktemp("record")
    repo = root / "repo"
    repo.mkdir()
    (repo / "alerts.rules.yml").write_text(RULES)
    (repo / "stackctl.yaml").write_text("scrape:\n  - target: 127.0.0.1:9\n    job: myapp\nrules:\n  - alerts.rules.yml\n")
    env = isolated_env(root, ("prometheus",), STACKCTL_RUNTIME="native")
    up = stackctl("up", env=env, cwd=repo)
    assert up.returncode == 0, up.stderr
    yield env, repo
    stackctl("down", "--volumes", env=env)


def test_commands_in_a_fresh_shell_find_the_stack_from_its_record(live: tuple[dict[str, str], Path]) -> None:
    env, repo = live
    shell = fresh_shell(env)
    url = f"http://127.0.0.1:{env['STACKCTL_PORT_PROMETHEUS']}"
    verify = stackctl("verify", "--json", env=shell, cwd=repo)
    assert json.loads(verify.stdout)["prometheus"] == url, verify.stderr
    deadline, jobs = time.monotonic() + 30, set[str]()
    while not jobs >= {"prometheus", "myapp"} and time.monotonic() < deadline:  # discovery takes a moment
        targets = stackctl("targets", "--json", env=shell, cwd=repo)
        assert targets.returncode == 0, targets.stderr
        jobs = {t["job"] for t in json.loads(targets.stdout)}
        time.sleep(0.5)
    assert jobs >= {"prometheus", "myapp"}
    alerts = stackctl("alerts", "--json", env=shell, cwd=repo)
    assert alerts.returncode == 0, alerts.stderr
    urls = stackctl("urls", "--json", env=shell, cwd=repo)
    assert json.loads(urls.stdout)["urls"]["prometheus"] == url


def test_a_project_that_is_not_running_says_so_instead_of_probing_a_default_port(live: tuple[dict[str, str], Path]) -> None:
    env, _ = live
    # Another project's Prometheus answers on the port this project would default to.
    other = {**env, "STACKCTL_PROJECT": "nosuchproject", "STACKCTL_STATE_DIR": str(Path(env["STACKCTL_STATE_DIR"]).parent / "nosuch")}
    for argv in (("verify",), ("alerts",), ("targets",), ("fire-alerts",), ("notifications",), ("urls",),
                 ("seed", "--scenario", "all-healthy", "--history", "1m", "--duration", "0"), ("logs", "prometheus")):
        result = stackctl(*argv, env=other)
        assert result.returncode != 0, (argv, result.stdout)
        assert "project nosuchproject is not running" in result.stderr, (argv, result.stderr)
        assert "Traceback" not in result.stderr
    explicit = stackctl("alerts", "--json", "--prometheus-url", f"http://127.0.0.1:{env['STACKCTL_PORT_PROMETHEUS']}", env=other)
    assert explicit.returncode == 0, explicit.stderr  # an explicit URL needs no record


def test_status_pipes_and_alert_names_are_whole_and_numbers_rounded(live: tuple[dict[str, str], Path]) -> None:
    env, repo = live
    grep = subprocess.run(f"{sys.executable} -m stackctl status | grep prometheus", shell=True, env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert grep.returncode == 0 and "healthy" in grep.stdout, grep.stdout + grep.stderr
    deadline = time.monotonic() + 60
    while True:
        rows = json.loads(stackctl("alerts", "--json", env=env, cwd=repo).stdout)
        if any(r["alertname"] == LONG_ALERT for r in rows) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert any(r["alertname"] == LONG_ALERT and r["value"].startswith("2.698961937716") for r in rows), rows  # --json: full precision
    table = stackctl("alerts", env={**env, "COLUMNS": "120"}, cwd=repo)
    line = next(line for line in table.stdout.splitlines() if LONG_ALERT in line)
    assert "0.2699" in line and "0.269896" not in line and "e-01" not in line, line
    assert "…" not in table.stdout


def test_up_from_another_folder_names_both_configs_and_refuses(live: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, repo = live
    result = stackctl("up", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    text = " ".join(result.stderr.split())
    assert str(repo / "stackctl.yaml") in text and "no stackctl.yaml" in text and str(tmp_path) in text
    assert "targets dropped: myapp 127.0.0.1:9/metrics" in text and "rules dropped:" in text
    assert "--replace-config" in text
    rendered = next(Path(env["STACKCTL_STATE_DIR"], "rendered").rglob("prometheus.yml")).read_text()
    assert "myapp" in rendered, "nothing was re-rendered"


@pytest.mark.docker
def test_up_on_docker_while_running_natively_says_down_first(live: tuple[dict[str, str], Path]) -> None:
    require_docker()
    env, repo = live
    result = stackctl("up", "--runtime", "docker", env=env, cwd=repo)
    assert result.returncode != 0
    assert "already running on the native runtime" in result.stderr and "stackctl down" in result.stderr, result.stderr
    assert "taken by pid" not in result.stderr


def test_every_busy_port_is_named_in_one_error(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, ("prometheus", "alertmanager", "pushgateway"), STACKCTL_RUNTIME="native")
    held = []
    for service in ("PROMETHEUS", "PUSHGATEWAY", "NOTIFY_SINK"):
        sock = socket.socket()
        sock.bind(("127.0.0.1", int(env[f"STACKCTL_PORT_{service}"])))
        sock.listen()
        held.append(sock)
    try:
        result = stackctl("up", env=env)
    finally:
        for sock in held:
            sock.close()
    assert result.returncode != 0
    assert "3 ports the stack needs are taken" in result.stderr, result.stderr
    for service in ("PROMETHEUS", "PUSHGATEWAY", "NOTIFY_SINK"):
        assert env[f"STACKCTL_PORT_{service}"] in result.stderr and f"STACKCTL_PORT_{service}=" in result.stderr
    assert f"pid {os.getpid()}" in result.stderr


def test_down_volumes_removes_every_file_and_the_next_stack_forgets_the_scenario(live: tuple[dict[str, str], Path]) -> None:
    env, repo = live
    state = Path(env["STACKCTL_STATE_DIR"])
    seed = stackctl("seed", "--scenario", "preview-failures", "--history", "2m", "--duration", "0", env=env, cwd=repo)
    assert seed.returncode == 0, seed.stderr
    assert (state / "seed.json").exists()
    assert json.loads((state / "stack.json").read_text())["scenario"] == "preview-failures"
    down = stackctl("down", "--volumes", env=env, cwd=repo)
    assert down.returncode == 0, down.stderr
    assert not state.exists(), f"left behind: {sorted(p.name for p in state.iterdir())}"
    assert stackctl("up", env=env, cwd=repo).returncode == 0
    verify = json.loads(stackctl("verify", "--json", env=env, cwd=repo).stdout)
    assert verify["scenario"] is None, "a fresh stack does not check the previous scenario's alerts"
