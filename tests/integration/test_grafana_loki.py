"""Grafana and Loki for real, where this machine has them (an image or a binary).

Neither can run on the project's CI machine (no registry, no Debian package): these tests skip
there with the reason, also under CI=true, and run for users and contributors who have them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import psutil
import pytest
import requests

from helpers import isolated_env, stackctl
from stackctl.config import default_images
from stackctl.packs import PACKS


def _available(service: str, binaries: tuple[str, ...]) -> tuple[str, str] | None:
    """(runtime, how) when ``service`` can run here, else None."""
    if any(shutil.which(b) for b in binaries):
        return "native", "binary on PATH"
    image = default_images()[service]
    if shutil.which("docker") and subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0:
        return "docker", f"image {image}"
    return None


READY_WITHIN = {"loki": 3.0, "grafana": 5.0}  # seconds from process start to a passing readiness probe (issue 18)


class _ReadyWatch(threading.Thread):
    """Polls the service's readiness URL every 50 ms from before `up` until it first passes."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.ready_at, self.stop = url, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and not self.ready_at:
            try:
                if requests.get(self.url, timeout=0.5).ok:
                    self.ready_at = time.time()
            except requests.RequestException:
                pass
            self.stop.wait(0.05)


def _started_at(runtime: str, env: dict[str, str], service: str) -> float:
    """When the service's process (native) or container (docker) started, as a Unix time."""
    port = int(env[f"STACKCTL_PORT_{service.upper()}"])
    if runtime == "native":
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                return float(psutil.Process(conn.pid).create_time())
        raise AssertionError(f"no process listens on {port}")
    names = subprocess.run(["docker", "ps", "-q", "--filter", f"publish={port}"], capture_output=True, text=True).stdout.split()
    started = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", names[0]], capture_output=True, text=True).stdout.strip()
    return datetime.fromisoformat(started[:26].rstrip("Z") + "+00:00").timestamp()


def _stack_with(service: str, binaries: tuple[str, ...], tmp_path: Path) -> dict[str, str]:
    found = _available(service, binaries)
    if found is None:
        pytest.skip(f"no {service} here: neither {' / '.join(binaries)} on PATH nor the image {default_images()[service]} "
                    f"(it cannot be installed on this machine; the test runs where it can)")
    env = isolated_env(tmp_path, ("prometheus", "redis", service), STACKCTL_RUNTIME=found[0])
    for var in [k for k in env if k.startswith("STACKCTL_IMAGE_") and service.upper() in k]:
        del env[var]
    probe = "/ready" if service == "loki" else "/api/health"
    watch = _ReadyWatch(f"http://127.0.0.1:{env[f'STACKCTL_PORT_{service.upper()}']}{probe}")
    watch.start()
    up = stackctl("up", "--timeout", "180", env=env)
    watch.stop.set()
    watch.join(5)
    assert up.returncode == 0, up.stderr
    took = watch.ready_at - _started_at(found[0], env, service)
    assert 0 < took <= READY_WITHIN[service], f"{service} took {took:.1f}s from process start to {probe} (at most {READY_WITHIN[service]}s)"
    return env


@pytest.mark.grafana
def test_grafana_provisions_datasources_and_pack_folders(tmp_path: Path) -> None:
    env = _stack_with("grafana", ("grafana", "grafana-server"), tmp_path)
    try:
        base = f"http://127.0.0.1:{env['STACKCTL_PORT_GRAFANA']}"
        password = json.loads(stackctl("urls", "--json", "--show-password", env=env).stdout)["credentials"]["grafana"]["password"]
        auth = ("admin", password)
        assert requests.get(f"{base}/api/health", timeout=10).ok
        assert requests.get(f"{base}/api/search", timeout=10).status_code == 401, "anonymous access is off"
        assert requests.get(f"{base}/api/search", auth=("admin", "admin"), timeout=10).status_code == 401, "no default password"
        uids = {d["uid"] for d in requests.get(f"{base}/api/datasources", auth=auth, timeout=10).json()}
        assert {"prometheus", "loki", "alertmanager"} <= uids
        deadline, titles = time.monotonic() + 60, set()
        while time.monotonic() < deadline:
            found = requests.get(f"{base}/api/search", params={"type": "dash-db"}, auth=auth, timeout=10).json()
            titles = {d.get("folderTitle") for d in found}
            if {p.title for p in PACKS} <= titles:
                break
            time.sleep(1)
        assert {p.title for p in PACKS} <= titles, titles
        _every_provisioned_dashboard_loaded(base, auth, env)
    finally:
        stackctl("down", "--volumes", env=env)


def _every_provisioned_dashboard_loaded(base: str, auth: tuple[str, str], env: dict[str, str]) -> None:
    """Each dashboard file of the rendered tree is in /api/search and loads by uid as provisioned."""
    rendered = Path(env["STACKCTL_STATE_DIR"]) / "rendered" / "grafana" / "dashboards"
    wanted = {json.loads(p.read_text())["uid"]: p for p in rendered.rglob("*.json")}
    assert wanted, "the stack provisions dashboards"
    found = {d["uid"] for d in requests.get(f"{base}/api/search", params={"type": "dash-db", "limit": 5000}, auth=auth, timeout=10).json()}
    assert set(wanted) <= found, f"not loaded: {sorted(set(wanted) - found)}"
    for uid, path in wanted.items():
        resp = requests.get(f"{base}/api/dashboards/uid/{uid}", auth=auth, timeout=10)
        assert resp.ok, f"{path}: {resp.status_code} {resp.text[:200]}"
        body = resp.json()
        assert body["meta"]["provisioned"] is True, f"{path}: not provisioned"
        assert len(body["dashboard"].get("panels", [])) == len(json.loads(path.read_text()).get("panels", [])), f"{path}: panels lost"


@pytest.mark.loki
def test_loki_accepts_seeded_history_and_answers_logql(tmp_path: Path) -> None:
    env = _stack_with("loki", ("loki",), tmp_path)
    try:
        base = f"http://127.0.0.1:{env['STACKCTL_PORT_LOKI']}"
        seed = stackctl("seed", "--scenario", "cluster-failures", "--history", "30m", "--duration", "0", env=env)
        assert seed.returncode == 0, seed.stderr
        now = time.time_ns()
        deadline, streams = time.monotonic() + 60, []
        while time.monotonic() < deadline and not streams:
            resp = requests.get(f"{base}/loki/api/v1/query_range", timeout=10,
                                params={"query": '{service="sploot-cluster"}', "start": now - 3600 * 10**9, "end": now, "limit": 100})
            streams = resp.json()["data"]["result"]
            time.sleep(1)
        assert streams, "seeded log lines are queryable"
        report = json.loads(stackctl("verify", "--json", env=env).stdout)
        logs_panels = [r for r in report["results"] if r["kind"] == "panel" and "{service=" in r["query"]]
        assert logs_panels and not [r for r in logs_panels if r["status"] == "skipped"], "LogQL panels are checked against the running Loki"
    finally:
        stackctl("down", "--volumes", env=env)
