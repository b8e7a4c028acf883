"""Alert classes an evaluation on SLO rule files found (Sloth/Pyrra-generated multi-window
burn-rate alerts), end to end on one native stack: an alert reading recorded series by their
rules' labels fires as promised, and a quiet long-window burn-rate alert stays quiet (no single
seeded error passes its budget)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from helpers import REPO, poll, prometheus_alerts, repo_stack, require_binaries, stackctl

pytestmark = pytest.mark.native
CLASSES = REPO / "tests" / "fixtures" / "synth" / "classes"
LABELS = CLASSES / "h42-record-labels"
FEW = CLASSES / "h42-few-events"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    require_binaries("prometheus", "prometheus-alertmanager", "promtool")
    root = tmp_path_factory.mktemp("h42")
    rules = [*sorted(LABELS.glob("*.yml")), *sorted(FEW.glob("*.yml"))]
    with repo_stack(root, ("prometheus", "alertmanager"), {"packs": [], "rules": [str(p) for p in rules]}) as stack:
        yield stack


def test_sloth_alert_on_recorded_series_by_their_labels_fires(stack: tuple[dict[str, str], Path]) -> None:
    env, repo = stack
    seeded = stackctl("seed", "--from", str(LABELS), "--alert", "PaymentsGrpcErrorBudgetBurn", "--history", "20m",
                      "--duration", "0", "--random-seed", "3", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stderr
    assert "unsolved" not in seeded.stderr, seeded.stderr  # was: no scaling of its inputs makes it true
    # no `for:`: nothing to restore, it fires at the rule group's next evaluation after the seed
    raised = poll("PaymentsGrpcErrorBudgetBurn active", lambda: prometheus_alerts(env, repo),
                  lambda alerts: any(a["alertname"] == "PaymentsGrpcErrorBudgetBurn" and a["state"] in ("pending", "firing")
                                     for a in alerts), timeout=20)
    active = {a["alertname"]: a for a in raised if a["state"] in ("pending", "firing")}
    assert active["PaymentsGrpcErrorBudgetBurn"]["labels"].get("sloth_id") == "payments-grpc-availability"
    assert "MyServiceHighErrorRate" not in active  # the other SLO's records stay quiet


def test_quiet_long_window_burn_rate_stays_quiet(stack: tuple[dict[str, str], Path]) -> None:
    env, repo = stack
    seeded = stackctl("seed", "--from", str(FEW), "--history", "30m", "--duration", "0", "--random-seed", "7",
                      env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stderr
    active = {a["alertname"] for a in prometheus_alerts(env, repo) if a["state"] in ("pending", "firing")}
    assert "CheckoutAvailabilitySLO" not in active, active
