"""Issue 21 items 2 and 8, provoked for real: a process is ours only by its identity.

- Two native projects racing for one Prometheus port: exactly one reports success; the loser's
  probe reached the winner's server, but readiness checks that the pid holding the port is in
  its own process tree, so it fails and cleans up.
- A reused pid in seed.json (now another project's seeder): `seed stop` leaves it alone.
- One project's state dir nested inside another's: `down` of the outer one leaves the inner
  project's Redis running (it was found by its working directory before).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import psutil
import pytest
import requests

from helpers import REPO, isolated_env, require_binaries, stackctl
from stackctl.state.ports import free_ports

pytestmark = pytest.mark.native


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _pids(state_dir: Path) -> dict[str, int]:
    run = state_dir / "run"
    return {p.stem: json.loads(p.read_text())["pid"] for p in run.glob("*.json")} if run.is_dir() else {}


@pytest.mark.promise("R8")
@pytest.mark.parametrize("round_", [1, 2])
def test_two_projects_racing_for_one_port_never_both_succeed(tmp_path: Path, round_: int) -> None:
    require_binaries("prometheus")
    port = free_ports(1)[0]
    envs = []
    for name in ("a", "b"):
        env = isolated_env(tmp_path / name, ("prometheus",), STACKCTL_RUNTIME="native", STACKCTL_TIMEOUT="20")
        env["STACKCTL_PORT_PROMETHEUS"] = str(port)
        envs.append(env)
    procs = [subprocess.Popen([sys.executable, "-m", "stackctl", "up"], env=env, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for env in envs]
    try:
        results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
        codes = [code for code, _ in results]
        assert sorted(codes) != [0, 0], f"both reported success: {results}"
        assert 0 in codes, f"neither came up: {results}"
        winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
        # Which check stops the loser depends on how far the winner got: preflight sees the port
        # already held, the bind fails, or readiness finds the port answered by another tree.
        losing_reasons = ("a port the stack needs is taken", "not by our prometheus", "address already in use",
                          "exited during startup")
        assert any(reason in results[loser][1] for reason in losing_reasons), results[loser][1]
        loser_pids = _pids(Path(envs[loser]["STACKCTL_STATE_DIR"]))
        assert not [p for p in loser_pids.values() if _alive(p)], "the loser cleaned up"
        holder = {c.pid for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN}
        assert holder & {_pids(Path(envs[winner]["STACKCTL_STATE_DIR"]))["prometheus"]}, "the winner still answers"
        assert requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=5).ok
    finally:
        for env in envs:
            stackctl("down", "--volumes", env=env)


@pytest.fixture
def foreign_seeder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A live process whose command line is another project's detached seeder."""
    other = tmp_path / "other-project"
    other.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-m", "stackctl.seeding.daemon", str(other)],
                            start_new_session=True)
    yield proc, other
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.promise("R9")
def test_seed_stop_with_a_reused_pid_leaves_the_other_projects_seeder_alone(tmp_path: Path, foreign_seeder: tuple[subprocess.Popen[bytes], Path]) -> None:
    proc, _ = foreign_seeder
    env = isolated_env(tmp_path, ("prometheus",), STACKCTL_RUNTIME="native")
    state = Path(env["STACKCTL_STATE_DIR"])
    state.mkdir(parents=True)
    # this project's seeder died long ago; its pid now belongs to the other project's seeder
    (state / "seed.json").write_text(json.dumps({"pid": proc.pid, "pid_started": 1.0, "scenario": "all-healthy",
                                                 "state": "running", "state_dir": str(state)}))
    status = json.loads(stackctl("seed", "status", "--json", env=env).stdout)
    assert status["running"] is False and status["state"] == "dead"
    stop = stackctl("seed", "stop", env=env)
    assert stop.returncode == 0 and "no detached seeder running" in stop.stderr, stop.stderr
    assert stackctl("down", env=env).returncode == 0
    time.sleep(0.3)
    assert proc.poll() is None, "another project's seeder was signalled"
    # Even with the right start time, a seeder of another state dir is not ours.
    (state / "seed.json").write_text(json.dumps({"pid": proc.pid, "pid_started": psutil.Process(proc.pid).create_time(),
                                                 "scenario": "all-healthy", "state": "running"}))
    assert json.loads(stackctl("seed", "status", "--json", env=env).stdout)["running"] is False
    stackctl("seed", "stop", env=env)
    assert proc.poll() is None


@pytest.mark.promise("R9")
def test_down_of_an_outer_project_leaves_a_nested_projects_processes_alone(tmp_path: Path) -> None:
    require_binaries("redis-server")
    outer = isolated_env(tmp_path, ("redis",), STACKCTL_RUNTIME="native")
    inner = isolated_env(tmp_path, ("redis",), STACKCTL_RUNTIME="native")
    inner["STACKCTL_STATE_DIR"] = str(Path(outer["STACKCTL_STATE_DIR"]) / "projects" / "inner")
    try:
        assert stackctl("up", env=outer).returncode == 0  # first: a state dir holding another project is refused
        assert stackctl("up", env=inner).returncode == 0
        inner_redis = _pids(Path(inner["STACKCTL_STATE_DIR"]))["redis"]
        outer_redis = _pids(Path(outer["STACKCTL_STATE_DIR"]))["redis"]
        # the outer project's pid records are lost: `down` must find its processes by their marks
        for record in (Path(outer["STACKCTL_STATE_DIR"]) / "run").glob("*.json"):
            record.unlink()
        down = stackctl("down", env=outer)
        assert down.returncode == 0, down.stderr
        assert not _alive(outer_redis), "the outer project's own Redis was found and stopped"
        assert _alive(inner_redis), "down of the outer project signalled the nested project's Redis"
        status = {s["service"]: s["state"] for s in json.loads(stackctl("status", "--json", env=inner).stdout)}
        assert status["redis"] == "healthy"
    finally:
        stackctl("down", "--volumes", env=inner)
        stackctl("down", "--volumes", env=outer)
