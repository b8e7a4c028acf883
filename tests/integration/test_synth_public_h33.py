"""A public Alertmanager config (kube-prometheus' inhibit rules, Slack receivers, a "null"
route) with public rule files, on one real native stack (h33's evaluation): every route's
synthetic alert reaches the local sink under the user's receiver name, seeded alerts arrive on
the route the user's config sends them to, and nothing is configured to leave the machine."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from helpers import isolated_env, require_binaries, stackctl

CLASS = Path(__file__).resolve().parents[1] / "fixtures" / "synth" / "classes" / "h33-inhibit"
pytestmark = pytest.mark.native


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    require_binaries("prometheus", "prometheus-alertmanager", "amtool")
    here = tmp_path_factory.mktemp("h33")
    (here / "stackctl.yaml").write_text(yaml.safe_dump({
        "packs": [], "rules": [str(CLASS / "blackbox-rules.yml")], "alertmanager": {"config": str(CLASS / "alertmanager.yml")}}))
    env = isolated_env(here, ("prometheus", "alertmanager"), STACKCTL_RUNTIME="native")
    up = stackctl("up", env=env, cwd=here)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield here, env
    finally:
        stackctl("down", "--volumes", env=env, cwd=here)


def test_rendered_config_keeps_routes_and_sends_nothing_out(stack: tuple[Path, dict[str, str]]) -> None:
    here, env = stack
    rendered = yaml.safe_load((here / "state" / "rendered" / "alertmanager" / "alertmanager.yml").read_text())
    assert rendered["route"] == yaml.safe_load((CLASS / "alertmanager.yml").read_text())["route"]
    urls = [c["url"] for r in rendered["receivers"] for c in r.get("webhook_configs", [])]
    assert urls and all(u.startswith("http://127.0.0.1:") and u.endswith("/cgi-bin/notify") for u in urls)
    assert "slack" not in json.dumps(rendered["receivers"]) and "slack_api_url" not in json.dumps(rendered)


def test_every_route_reaches_its_receiver_despite_the_inhibit_rules(stack: tuple[Path, dict[str, str]]) -> None:
    here, env = stack
    fired = stackctl("fire-alerts", "--json", env=env, cwd=here, timeout=120)
    assert fired.returncode == 0, fired.stdout + fired.stderr
    rows = {(d["route"], d["labels"].get("severity", "")): d for d in json.loads(fired.stdout)}
    assert rows[("root.1", "critical")]["reached"] == ["oncall"]
    assert rows[("root.2", "warning")]["reached"] == ["tickets"] and rows[("root.2", "info")]["reached"] == ["tickets"]
    assert "no integrations" in rows[("root.0", "")]["detail"]


def test_seeded_alerts_arrive_on_the_users_route(stack: tuple[Path, dict[str, str]]) -> None:
    here, env = stack
    seed = stackctl("seed", "--from", str(CLASS / "blackbox-rules.yml"), "--state", "firing", "--history", "10m", "--duration", "0",
                    env=env, cwd=here, timeout=180)
    assert seed.returncode == 0, seed.stdout + seed.stderr
    want = {("BlackboxProbeFailed", "oncall"), ("BlackboxSlowProbe", "tickets")}
    got: set[Any] = set()
    for _ in range(40):  # group_wait 2s; bounded
        shown = stackctl("notifications", "--json", env=env, cwd=here)
        got = {(n["alertname"], n["receiver"]) for n in json.loads(shown.stdout or "[]") if n["status"] == "firing"}
        if want <= got:
            break
        time.sleep(1)
    assert want <= got, got
