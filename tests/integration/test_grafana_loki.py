"""Grafana and Loki for real, where this machine has them (an image or a binary).

Neither can run on the project's CI machine (no registry, no Debian package): these tests skip
there with the reason, also under CI=true, and run for users and contributors who have them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

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


def _stack_with(service: str, binaries: tuple[str, ...], tmp_path: Path) -> dict[str, str]:
    found = _available(service, binaries)
    if found is None:
        pytest.skip(f"no {service} here: neither {' / '.join(binaries)} on PATH nor the image {default_images()[service]} "
                    f"(it cannot be installed on this machine; the test runs where it can)")
    env = isolated_env(tmp_path, ("prometheus", "redis", service), STACKCTL_RUNTIME=found[0])
    for var in [k for k in env if k.startswith("STACKCTL_IMAGE_") and service.upper() in k]:
        del env[var]
    up = stackctl("up", "--timeout", "180", env=env)
    assert up.returncode == 0, up.stderr
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
    finally:
        stackctl("down", "--volumes", env=env)


@pytest.mark.loki
def test_loki_accepts_seeded_history_and_answers_logql(tmp_path: Path) -> None:
    env = _stack_with("loki", ("loki",), tmp_path)
    try:
        base = f"http://127.0.0.1:{env['STACKCTL_PORT_LOKI']}"
        seed = stackctl("seed", "--scenario", "cluster-failures", "--history", "30m", "--duration", "0", env=env)
        assert seed.returncode == 0, seed.stderr
        now = time.time_ns()
        deadline, streams = time.monotonic() + 60, list[Any]()
        while time.monotonic() < deadline and not streams:
            resp = requests.get(f"{base}/loki/api/v1/query_range", timeout=10,
                                params={"query": '{service="sploot-cluster"}', "start": str(now - 3600 * 10**9), "end": str(now), "limit": "100"})
            streams = resp.json()["data"]["result"]
            time.sleep(1)
        assert streams, "seeded log lines are queryable"
        report = json.loads(stackctl("verify", "--json", env=env).stdout)
        logs_panels = [r for r in report["results"] if r["kind"] == "panel" and "{service=" in r["query"]]
        assert logs_panels and not [r for r in logs_panels if r["status"] == "skipped"], "LogQL panels are checked against the running Loki"
    finally:
        stackctl("down", "--volumes", env=env)
