"""Alert classes an evaluation on rendered monitoring mixins found (kubernetes-mixin,
prometheus-mixin, kube-prometheus PrometheusRules), end to end on one native stack: an alert
reading a recorded series by label fires, quiet keeps every rule input seeded (verify passes
its own data), a group_right difference fires, ALERTS is never synthesized."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from helpers import REPO, prometheus_alerts, repo_stack, require_binaries, stackctl

pytestmark = pytest.mark.native
CLASSES = REPO / "tests" / "fixtures" / "synth" / "classes"
RECORDED = CLASSES / "h32-record-matchers"
QUIET = [CLASSES / "h32-quiet-inputs", CLASSES / "h32-alerts-series", CLASSES / "h32-quiet-order",
         CLASSES / "h32-timestamps"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    require_binaries("prometheus", "prometheus-alertmanager", "promtool")
    root = tmp_path_factory.mktemp("h32")
    rules = [*sorted(RECORDED.glob("*.yaml")), *(f for d in QUIET for f in sorted(d.glob("*.yaml")))]
    with repo_stack(root, ("prometheus", "alertmanager"), {"packs": [], "rules": [str(p) for p in rules]}) as stack:
        yield stack  # the PrometheusRule resource loads as a rule file


def test_alert_on_a_recorded_series_by_label_fires(stack: tuple[dict[str, str], Path]) -> None:
    """First, on fresh series: GrafanaRequestsFailing reads record{status_code=~"5.."}."""
    env, repo = stack
    seeded = stackctl("seed", "--from", str(RECORDED), "--alert", "GrafanaRequestsFailing", "--history", "20m",
                      "--duration", "0", "--random-seed", "3", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stderr
    assert "unsolved" not in seeded.stderr, seeded.stderr  # was: no scaling of its inputs makes it true
    states = {a["state"] for a in prometheus_alerts(env, repo) if a["alertname"] == "GrafanaRequestsFailing"}
    assert states & {"pending", "firing"}, states


def test_quiet_keeps_rule_inputs_and_verify_passes(stack: tuple[dict[str, str], Path]) -> None:
    env, repo = stack
    args = [a for d in QUIET for a in ("--from", str(d))]
    seeded = stackctl("seed", *args, "--history", "20m", "--duration", "0", "--random-seed", "5", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stderr
    report = json.loads(stackctl("verify", "--json", env=env, cwd=repo).stdout)
    empty = [r for r in report["results"] if r["kind"] == "metric" and r["status"] != "ok"]
    assert not empty, empty  # was: no series named kube_deployment_status_observed_generation ...
    quiet = {"KubeDeploymentGenerationMismatch", "KubeVersionMismatch", "PrometheusRemoteWriteBehind",
             "CPUThrottlingHigh", "InfoInhibitor", "ThanosCompactIsDown", "ThanosCompactMultipleRunning",
             "ThanosRuleRuleEvaluationLatencyHigh", "ThanosRuleNoEvaluationFor10Intervals"}
    active = {a["alertname"] for a in prometheus_alerts(env, repo) if a["state"] in ("pending", "firing")}
    assert not active & quiet, active


def test_group_right_difference_fires(stack: tuple[dict[str, str], Path]) -> None:
    env, repo = stack
    gen = stackctl("scenarios", "generate", "--from", str(QUIET[0]), "--alert", "PrometheusRemoteWriteBehind",
                   "--state", "firing", "-o", str(repo / "behind.yaml"), env=env, cwd=repo)
    assert gen.returncode == 0, gen.stderr
    assert "unsolved" not in gen.stderr, gen.stderr
    text = (repo / "behind.yaml").read_text()
    assert "prometheus_remote_storage_highest_timestamp_in_seconds" in text and "left out" not in text
    assert "name: ALERTS" not in text
