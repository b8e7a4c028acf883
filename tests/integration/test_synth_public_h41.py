"""h41's failure classes end to end on one native stack: application-runtime, proxy and
datastore dashboards (Traefik's variable regex, the elasticsearch mixin's legend labels, a
haproxy SLO dashboard counting firing ALERTS) seeded with `seed --from` and verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from helpers import REPO, repo_stack, require_binaries, stackctl

pytestmark = pytest.mark.native
CLASSES = REPO / "tests" / "fixtures" / "synth" / "classes"
FIXTURES = [CLASSES / "h41-variable-regex", CLASSES / "h41-legend-labels", CLASSES / "h41-alerts-panels"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    require_binaries("prometheus", "promtool")
    root = tmp_path_factory.mktemp("h41")
    config = {"packs": [], "dashboards": [str(p) for f in FIXTURES for p in sorted(f.glob("*.json"))]}
    with repo_stack(root, ("prometheus",), config) as stack:
        yield stack


def test_every_panel_is_populated_or_rightly_quiet(stack: tuple[dict[str, str], Path]) -> None:
    env, repo = stack
    args = [a for f in FIXTURES for a in ("--from", str(f))]
    seeded = stackctl("seed", *args, "--history", "20m", "--duration", "0", "--random-seed", "3", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stderr
    report = json.loads(stackctl("verify", "--json", env=env, cwd=repo).stdout)
    panels = {r["panel"].strip(): r for r in report["results"] if r["kind"] == "panel"}
    assert [r for r in panels.values() if r["status"] not in ("populated", "ok")] == []
    # Traefik: the variable's regex keeps values, so the panels filter by them, not by ""
    pie = panels["Http Code"]
    assert "().*" not in pie["query"] and "has no values" not in pie["detail"], pie
    # a stat of firing ALERTS in a quiet stack: nothing seeded, and said why it is blank
    firing = panels["5xx SSO Error Alerts Firing"]
    assert firing["status"] == "ok" and "ALERTS" in firing["detail"], firing
