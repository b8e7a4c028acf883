"""h34's classes end to end on one native stack (no Loki here): the public dashboards of
tests/fixtures/synth/classes/h34-*/ seeded together with `seed --from`, then verified and
reported: every Prometheus panel populated (grafonnet's refId-less targets and x-less gridPos,
loki-mixin's `pod=~"$deployment.*"`), every LogQL target read without a false rejection, and
the report drawing each panel."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import pytest

from helpers import REPO, repo_stack, require_binaries, stackctl

pytestmark = pytest.mark.native
CLASSES = REPO / "tests" / "fixtures" / "synth" / "classes"
FOLDERS = [CLASSES / "h34-logql-streams", CLASSES / "h34-no-refid", CLASSES / "h34-report-shapes"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    require_binaries("prometheus", "prometheus-alertmanager")
    root = tmp_path_factory.mktemp("h34")
    with repo_stack(root, ("prometheus", "alertmanager"), {"packs": [], "dashboards": [str(f) for f in FOLDERS]}) as (env, repo):
        froms = [arg for f in FOLDERS for arg in ("--from", str(f))]
        seeded = stackctl("seed", *froms, "--history", "20m", "--duration", "0", "--random-seed", "3",
                          env=env, cwd=repo)
        assert seeded.returncode == 0, seeded.stderr  # Loki is not in the stack: its sink is skipped, metrics written
        yield env, repo


def test_every_prometheus_panel_is_populated_and_no_logql_falsely_rejected(stack: tuple[dict[str, str], Path]) -> None:
    env, repo = stack
    report = json.loads(stackctl("verify", "--json", env=env, cwd=repo).stdout)
    panels = [r for r in report["results"] if r["kind"] == "panel"]
    bad = [(r["dashboard"], r["panel"], r["status"], r["detail"]) for r in panels if r["status"] not in ("populated", "skipped")]
    assert not bad
    assert sum(r["status"] == "populated" for r in panels) >= 24
    assert not [r for r in report["results"] if r["kind"] == "dashboard" and r["status"] == "error"]  # gridPos without x loads


def test_the_report_draws_them_with_their_own_legends(stack: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, repo = stack
    out = tmp_path / "r.html"
    done = stackctl("report", "-o", str(out), env=env, cwd=repo)
    assert done.returncode == 0, done.stderr
    block = re.search(r'<script type="application/json" id="stackctl-report-data">(.*?)</script>', out.read_text(), re.S)
    assert block is not None
    data = json.loads(block.group(1))
    space = next(p for p in data["panels"] if p["title"] == "Volume Space Usage" and p["kind"] == "timeseries")
    assert sorted({s["name"] for s in space["series"]}) == ["Free Space", "Used Space"]  # refId-less targets kept apart
    timeline = next(p for p in data["panels"] if p["title"] == "Active Controller Count")
    assert timeline["kind"] == "states" and timeline["drawn"]
