"""The failure classes an evaluation on public dashboards and rule files found, end to end on
one native stack: files from several sources together (duplicate alert names, a
PrometheusRule resource in rules:, rules pinning other label values than the dashboards ask,
recording-rule outputs, a variable over a metric the stack's own Alertmanager exposes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from helpers import REPO, repo_stack, require_binaries, stackctl

pytestmark = pytest.mark.native
CLASSES = REPO / "tests" / "fixtures" / "synth" / "classes"
DASHBOARDS = [CLASSES / "cross-files" / "node-exporter-full.json", CLASSES / "cross-files" / "django-overview.json",
              CLASSES / "recorded" / "node-rsrc-use.json", CLASSES / "real-targets" / "rfmoz-alertmanager.json"]
RULES = [*sorted((CLASSES / "dup-alerts").glob("*.y*ml")), CLASSES / "crd" / "alertmanager-prometheusRule.yaml",
         CLASSES / "recorded" / "node-exporter-recording-rules.yaml", CLASSES / "cross-files" / "kube-prometheus-rules.yaml"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    require_binaries("prometheus", "prometheus-alertmanager", "promtool")
    root = tmp_path_factory.mktemp("classes")
    config = {"packs": [], "dashboards": [str(p) for p in DASHBOARDS], "rules": [str(p) for p in RULES]}
    with repo_stack(root, ("prometheus", "alertmanager"), config) as stack:
        yield stack  # the PrometheusRule resource passes promtool and loads


def _failed(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in report["results"] if r["status"] not in ("ok", "populated", "skipped")]


def test_duplicate_alert_names_fire_and_verify(stack: tuple[dict[str, str], Path]) -> None:
    """First on the fresh stack: seeding continues the series Prometheus holds, so a firing
    phase written after a quiet seed of the same series would start late."""
    env, repo = stack
    seeded = stackctl("seed", "--from", str(CLASSES / "dup-alerts"), "--from", str(CLASSES / "crd"), "--state", "firing",
                      "--history", "40m", "--duration", "0", "--random-seed", "2", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stderr  # was: alert 'RedisDown' listed twice
    report = json.loads(stackctl("verify", "--json", env=env, cwd=repo).stdout)
    alerts = [r for r in report["results"] if r["kind"] == "alert"]
    names = {r["panel"] for r in alerts}
    assert {"NodeFilesystemAlmostOutOfSpace{severity='warning'}", "RedisDown", "AlertmanagerFailedReload"} <= names, alerts
    assert all(r["status"] == "ok" for r in alerts), [(r["panel"], r["status"], r["detail"]) for r in alerts]


def test_all_files_together_populate_every_panel(stack: tuple[dict[str, str], Path]) -> None:
    env, repo = stack
    seeded = stackctl("seed", "--history", "20m", "--duration", "0", "--random-seed", "4", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stderr
    result = stackctl("verify", "--json", env=env, cwd=repo)
    report = json.loads(result.stdout)
    panels = [r for r in report["results"] if r["kind"] == "panel" and r["status"] != "skipped"]
    assert len(panels) >= 6
    assert not _failed(report), _failed(report)
