"""The README's first command on a freshly installed Debian: no Docker, no server binaries.

A debootstrapped bookworm (minimal, plus python3, python3-venv, python3-pip, ca-certificates;
see tests/freshroot.py) gets the project copied in; inside, with ``chroot`` and a clean
environment, the README's quickstart line runs as written in a venv. `up` must get
Prometheus, Alertmanager, the Pushgateway and Redis by itself (Debian packages unpacked into
stackctl's cache: release downloads are unreachable here, and even where they are, Redis has
none), bring the stack up seeded, leave nothing outside its cache changed, and `down
--volumes` must leave nothing running. The chroot shares the host's network, so the metrics
are queried from the host.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import freshroot
import pytest
import requests

from helpers import REPO, skip_or_fail
from stackctl.state.ports import free_ports

pytestmark = [pytest.mark.fresh_machine, pytest.mark.native, pytest.mark.slow]

PORTED = ("prometheus", "alertmanager", "pushgateway", "redis", "notify-sink", "grafana", "loki")
WATCHED = ("usr", "etc", "var/lib/dpkg", "var/lib/apt", "lib", "opt", "srv")


def readme_first_command() -> str:
    """The quickstart's first line, as the README prints it (comment stripped)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quickstart.*?```sh\n(.*?)```", text, re.S)
    assert block, "README has a Quickstart sh block"
    line = block.group(1).strip().splitlines()[0]
    return line.split("  #", 1)[0].strip()


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file outside the user's home and the project: path -> (size, mode)."""
    out = {}
    for top in WATCHED:
        base = root / top
        if not base.exists():
            continue
        for path in [base, *base.rglob("*")]:
            if "__pycache__" in path.parts:
                continue
            try:
                st = path.lstat()
            except OSError:
                continue
            out[str(path.relative_to(root))] = (st.st_size if not path.is_dir() else 0, st.st_mode)
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query(port: int, promql: str) -> list[dict[str, object]]:
    resp = requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": promql}, timeout=10)
    resp.raise_for_status()
    return list(resp.json()["data"]["result"])


def test_readme_quickstart_on_a_fresh_debian(tmp_path: Path) -> None:
    reason = freshroot.unavailable()
    if reason:
        skip_or_fail(f"no fresh Debian root: {reason}")
    command = readme_first_command()
    assert "stackctl up --seed preview-failures" in command
    ports = dict(zip(PORTED, free_ports(len(PORTED))))
    env = {f"STACKCTL_PORT_{s.upper().replace('-', '_')}": str(p) for s, p in ports.items()}
    with freshroot.fresh_machine(tmp_path, REPO) as machine:
        root = machine.root
        assert not (root / "usr/bin/prometheus").exists() and not (root / "usr/bin/redis-server").exists()
        if "venv" not in command:
            # Debian's pip refuses to install outside a venv (PEP 668): the user makes one first.
            venv = machine.run("python3 -m venv /root/venv", timeout=120)
            assert venv.returncode == 0, venv.stderr
            machine.base_env["PATH"] = "/root/venv/bin:" + machine.base_env["PATH"]  # an activated venv
        else:
            # The command activates the venv it makes; later commands are new shells: as in the
            # user's terminal, the venv stays active for them.
            machine.base_env["PATH"] = "/src/.venv/bin:" + machine.base_env["PATH"]
        before, dpkg_status = snapshot(root), sha(root / "var/lib/dpkg/status")
        try:
            up = machine.run(f"cd /src && {command}", env=env, timeout=900)
            assert up.returncode == 0, f"{up.stdout[-3000:]}\n{up.stderr[-6000:]}"
            for service, package in (("prometheus", "prometheus"), ("alertmanager", "prometheus-alertmanager"),
                                     ("pushgateway", "prometheus-pushgateway"), ("redis", "redis-server")):
                assert re.search(rf"{service}: got Debian package {package} ", up.stderr), up.stderr[-4000:]
            assert "seeding preview-failures in the background" in up.stderr
            assert "leaving out grafana" in up.stderr and "not packaged by Debian" in up.stderr
            _scenario_is_queryable(ports["prometheus"])
            # The web UI works too: its templates and the libjs-* files it links to were unpacked.
            for path in ("/classic/graph", "/classic/static/jquery/jquery.min.js"):
                page = requests.get(f"http://127.0.0.1:{ports['prometheus']}{path}", timeout=10)
                assert page.status_code == 200, path
            doctor = machine.run("cd /src && stackctl doctor --json", env=env, timeout=120)
            assert doctor.returncode == 0, doctor.stderr
            native = {row["service"]: row for row in json.loads(doctor.stdout)["native"]}
            assert native["redis"]["source"] == "cache (debian)" and native["redis"]["version"].startswith("7.")
            assert "Debian" in native["grafana"]["how"] and native["grafana"]["present"] is False
        finally:
            down = machine.run("cd /src && stackctl down --volumes", env=env, timeout=180)
        assert down.returncode == 0, down.stderr
        assert "stopped: seeder" in down.stderr
        time.sleep(0.5)
        assert machine.processes() == {}, f"left running after down --volumes: {machine.processes()}"
        # Nothing outside the user's cache (and the venv, the project) changed.
        assert sha(root / "var/lib/dpkg/status") == dpkg_status
        after = snapshot(root)
        assert sorted(set(after) ^ set(before)) == []
        cache = root / "root/.cache/stackctl/bin"
        assert sorted(p.name.split("-")[1] for p in cache.glob("debian-*")) == ["alertmanager", "prometheus", "pushgateway", "redis"]


def _poll(port: int, promql: str, timeout: float = 90) -> list[dict[str, object]]:
    deadline, result = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        result = [r for r in query(port, promql) if float(r["value"][1]) > 0]  # type: ignore[index]
        if result:
            break
        time.sleep(1)
    return result


def _scenario_is_queryable(port: int) -> None:
    """The seeded history and the scenario's alert, seen from the host (shared network).

    `up --seed` returns once the stack is healthy; the seeder writes the history in the
    background, so each query is polled (bounded)."""
    assert _poll(port, "sum(preview_generation_jobs_completed_total)"), "no seeded samples"
    assert _poll(port, 'sum(count_over_time(preview_generation_jobs_completed_total{outcome="failed"}[30m]))')
    assert _poll(port, 'count(ALERTS{alertname="PreviewGenerationHighFailureRate"})'), "PreviewGenerationHighFailureRate never became pending"
