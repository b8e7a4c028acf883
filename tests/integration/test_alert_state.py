"""Seeded alerts fire, not just pend (issue 16): real Prometheus, Alertmanager and sink, both runtimes.

One stack per runtime, shared by the cases; each case seeds a scenario of another pack, so the
cases' series never meet: luneo-healthy (nothing of luneo fires), an http-service scenario
whose errors began 3 minutes ago (HighErrorRate, for: 5m, stays pending with ~2.5m left), then
preview-failures (PreviewGenerationHighFailureRate firing and notified on local-page) with a
user rule file whose alert has `for: 15m`, longer than Prometheus' default grace period.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from helpers import REPO, isolated_env, require_binaries, require_docker, stackctl
from stackctl.verify.alerts import notifications

SERVICES = ("prometheus", "alertmanager")
PACKS = "preview,http-service,luneo"
USER_RULES = """\
groups:
  - name: user-long
    rules:
      - alert: UserPreviewTrafficLong
        expr: sum by (outcome) (rate(preview_generation_jobs_completed_total[5m])) > 0
        for: 15m
        labels:
          severity: page
          team: "previews-{{ $labels.outcome }}"
"""
SHORT_ERRORS = """\
name: http-short-errors
description: Errors began 3 minutes ago; HighErrorRate (for 5m) is pending, not firing.
packs: [http-service]
base: [http-healthy]
history: 30m
phases:
  - {name: healthy, duration: 27m}
  - {name: errors, duration: 3m}
metrics:
  - name: http_errors_total
    type: counter
    labels: {job: http-service}
    rate: 0.02
    phases: {errors: {rate: 2.0}}
    series:
      - {labels: {endpoint: list_customers, status: "500"}, weight: 1}
  - name: http_requests_total
    type: counter
    labels: {job: http-service}
    rate: 20
    series:
      - {labels: {method: GET, endpoint: list_customers, status: "200"}, weight: 1}
expected_alerts:
  - {name: HighErrorRate, state: pending, within: 30s}
"""


@pytest.fixture(scope="module", params=["native", pytest.param("docker", marks=pytest.mark.docker)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The shared stack, with the three scenarios seeded in turn; what each case needs to look at."""
    if request.param == "docker":
        require_docker()
    else:
        require_binaries("prometheus", "prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp(f"alert-state-{request.param}")
    (tmp / "user-rules.yml").write_text(USER_RULES)
    (tmp / "scenarios").mkdir()
    (tmp / "scenarios" / "http-short-errors.yaml").write_text(SHORT_ERRORS)
    shutil.copy(REPO / "fixtures" / "scenarios" / "http-healthy.yaml", tmp / "scenarios")  # its base, found beside it
    (tmp / "stackctl.yaml").write_text("rules: [user-rules.yml]\n")
    env = isolated_env(tmp, SERVICES, STACKCTL_RUNTIME=request.param, STACKCTL_PACKS=PACKS)
    try:
        up = stackctl("up", env=env, cwd=tmp)
        assert up.returncode == 0, up.stderr
        out: dict[str, Any] = {"env": env, "cwd": tmp, "runtime": request.param}
        for key, scenario in (("healthy", "luneo-healthy"), ("short", str(tmp / "scenarios" / "http-short-errors.yaml")),
                              ("failures", "preview-failures")):
            started = time.monotonic()
            result = stackctl("seed", "--scenario", scenario, "--duration", "0", "--random-seed", "3", env=env, cwd=tmp)
            assert result.returncode == 0, result.stderr
            out[key] = (result.stderr, time.monotonic() - started, started)
        yield out
    finally:
        stackctl("down", "--volumes", env=env, cwd=tmp)


def _alerts(seeded: dict[str, Any]) -> list[dict[str, Any]]:
    env = seeded["env"]
    assert isinstance(env, dict)
    result = stackctl("alerts", "--json", env=env, cwd=seeded["cwd"])
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def _wait(seeded: dict[str, Any], alertname: str, source: str, state: str, within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        rows = [r for r in _alerts(seeded) if r["alertname"] == alertname and r["source"] == source]
        if any(r["state"] == state for r in rows):
            return next(r for r in rows if r["state"] == state)
        assert time.monotonic() < deadline, f"{alertname} not {state} in {source} within {within:.0f}s: {rows}"
        time.sleep(0.5)


@pytest.mark.native
def test_preview_failures_fires_and_is_notified_on_its_route(seeded: dict[str, Any]) -> None:
    stderr, _took, started = seeded["failures"]
    assert "PreviewGenerationHighFailureRate: condition held" in stderr and "-> firing" in stderr, stderr
    assert "restarted prometheus" in stderr and "firing now: " in stderr, stderr
    _wait(seeded, "PreviewGenerationHighFailureRate", "prometheus", "firing", 15 - (time.monotonic() - started))
    _wait(seeded, "PreviewGenerationHighFailureRate", "alertmanager", "active", 15)
    env = seeded["env"]
    assert isinstance(env, dict)
    sink = f"http://127.0.0.1:{env['STACKCTL_PORT_NOTIFY_SINK']}"
    deadline = started + 15
    while True:
        got = [n for n in notifications(sink) if n.alertname == "PreviewGenerationHighFailureRate" and n.status == "firing"]
        if got:
            break
        assert time.monotonic() < deadline, "no notification within 15 s of the start of seed"
        time.sleep(0.5)
    assert {n.receiver for n in got} == {"local-page"}  # severity=page routes to local-page
    shown = stackctl("notifications", "--json", env=env, cwd=seeded["cwd"])
    assert {"PreviewGenerationHighFailureRate", "local-page"} <= {v for r in json.loads(shown.stdout) for v in r.values()
                                                                   if isinstance(v, str)}


@pytest.mark.native
def test_a_user_rule_with_a_long_for_fires_too(seeded: dict[str, Any]) -> None:
    row = _wait(seeded, "UserPreviewTrafficLong", "prometheus", "firing", 15)
    labels = row["labels"]
    assert isinstance(labels, dict) and labels["team"] in ("previews-ready", "previews-failed")  # templated label


@pytest.mark.native
def test_a_condition_shorter_than_for_stays_pending_with_the_time_left(seeded: dict[str, Any]) -> None:
    stderr, _took, _started = seeded["short"]
    assert "HighErrorRate: condition held" in stderr and "-> pending, fires in" in stderr, stderr
    row = _wait(seeded, "HighErrorRate", "prometheus", "pending", 15)
    active_at = datetime.fromisoformat(str(row["active_at"]).replace("Z", "+00:00")).timestamp()
    held = time.time() - active_at
    # errors began 3 minutes before that seed; the ratio crosses 1 % within a minute of that
    assert 60 < held < 4 * 60 + 60, f"activeAt {row['active_at']} is {held:.0f}s ago"


@pytest.mark.native
def test_a_healthy_scenario_fires_nothing(seeded: dict[str, Any]) -> None:
    stderr, _took, _started = seeded["healthy"]
    assert "nothing to restore" in stderr, stderr
    luneo = [r for r in _alerts(seeded) if (r["labels"] or {}).get("pack") == "luneo"]
    assert not luneo, luneo


@pytest.mark.native
def test_verify_checks_the_firing_state(seeded: dict[str, Any]) -> None:
    result = stackctl("verify", "--scenario", "preview-failures", "--json", env=seeded["env"], cwd=seeded["cwd"],
                      timeout=240)
    report = json.loads(result.stdout or "{}")
    alerts = {r["panel"]: (r["status"], r["detail"]) for r in report.get("results", []) if r["kind"] == "alert"}
    assert alerts.get("PreviewGenerationHighFailureRate", ("?",))[0] == "ok", alerts
    assert "expected firing" in alerts["PreviewGenerationHighFailureRate"][1]



@pytest.mark.native
def test_restore_groups_takes_parsed_rule_files(seeded: dict[str, Any]) -> None:
    """The entry for `seed --from`: parsed rule files; those Prometheus has loaded are restored."""
    import yaml

    from stackctl.seeding.alert_state import restore_groups

    env = seeded["env"]
    assert isinstance(env, dict)
    unloaded = {"name": "elsewhere", "rules": [{"alert": "NeverLoaded", "expr": "vector(1)", "for": "1m"}]}
    report = restore_groups(f"http://127.0.0.1:{env['STACKCTL_PORT_PROMETHEUS']}", [yaml.safe_load(USER_RULES), unloaded],
                            1800, restart=None)
    assert {a.alertname for a in report.active if a.firing} == {"UserPreviewTrafficLong"}
    assert any(s.startswith("NeverLoaded: not loaded in Prometheus") for s in report.skipped), report.skipped
    assert report.note and "not restarted" in report.note


@pytest.mark.native
def test_up_seed_fires_and_notifies_within_15s_of_up_returning(tmp_path: Path) -> None:
    """The issue's "done when": `up --seed preview-failures`, then `alerts` and `notifications`."""
    require_binaries("prometheus", "prometheus-alertmanager")
    env = isolated_env(tmp_path, SERVICES, STACKCTL_RUNTIME="native")
    try:
        up = stackctl("up", "--seed", "preview-failures", env=env)
        assert up.returncode == 0, up.stderr
        returned = time.monotonic()
        fired = notified = False
        while not (fired and notified):
            # The 15 s target is measured by benchmarks/ (time_to_firing_s); here a bound that a loaded
            # CI machine meets too, and that is still far below any `for:` of the scenario (10m).
            assert time.monotonic() - returned < 60, f"firing: {fired}, notified: {notified} 60 s after up returned"
            alerts = json.loads(stackctl("alerts", "--json", env=env).stdout or "[]")
            fired = any(a["alertname"] == "PreviewGenerationHighFailureRate" and a["state"] == "firing" for a in alerts)
            sent = json.loads(stackctl("notifications", "--json", env=env).stdout or "[]")
            notified = any(n["alertname"] == "PreviewGenerationHighFailureRate" and n["receiver"] == "local-page" for n in sent)
        status = json.loads(stackctl("seed", "status", "--json", env=env).stdout)
        assert any("-> firing" in line for line in status.get("alert_state", [])), status
    finally:
        stackctl("down", "--volumes", env=env)
