"""Popular exporter dashboards imported as they are, end to end on one native stack: a legacy
`"datasource": "default"`, a datasource name the stack lacks, a query variable saved with
refresh "Never", a generated scenario file seeded with --scenario, an alert on an expiry
timestamp already past (fixtures: tests/fixtures/synth/classes/h31-*)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from helpers import REPO, repo_stack, require_binaries, stackctl

pytestmark = pytest.mark.native
CLASSES = REPO / "tests" / "fixtures" / "synth" / "classes"
DASHBOARDS = [CLASSES / "h31-default-datasource" / "kafka-exporter-overview.json",
              CLASSES / "h31-never-refreshed" / "kafka-overview.json",
              CLASSES / "h31-unknown-datasource" / "postgres-overview.json",
              CLASSES / "h31-literal-all" / "postgres-buffers.json",
              CLASSES / "h31-value-filter" / "nginx.json"]
RULES = CLASSES / "h31-expired-timestamp" / "blackbox-exporter-mixin-alerts.yaml"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    require_binaries("prometheus", "promtool")
    root = tmp_path_factory.mktemp("h31")
    config = {"packs": [], "dashboards": [str(p) for p in DASHBOARDS], "rules": [str(RULES)]}
    with repo_stack(root, ("prometheus",), config) as stack:
        yield stack


def test_generated_scenario_file_seeds_and_verifies_an_expired_certificate(stack: tuple[dict[str, str], Path]) -> None:
    """First, on the fresh stack. `scenarios generate -o s.yaml` then `seed --scenario s.yaml`:
    verify loads the scenario from that file (was: "unknown scenario 'synth-...'", exit 2), and
    `expiry - time() < 0` is solved by an expiry already past (was: unsolved)."""
    env, repo = stack
    out = repo / "expired.yaml"
    gen = stackctl("scenarios", "generate", "--from", str(RULES), "--alert", "BlackboxSslCertificateExpired", "-o", str(out),
                   env=env, cwd=repo)
    assert gen.returncode == 0, gen.stderr
    assert "BlackboxSslCertificateExpired, state: firing" in out.read_text(), out.read_text()
    seeded = stackctl("seed", "--scenario", str(out), "--history", "10m", "--duration", "0", "--random-seed", "1", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stderr
    result = stackctl("verify", "--json", env=env, cwd=repo)  # the dashboards are not seeded yet: it fails, on them
    assert "unknown scenario" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert report["scenario"].startswith("synth-blackbox-exporter-mixin"), report["scenario"]
    alerts = [r for r in report["results"] if r["kind"] == "alert"]
    assert [(r["panel"], r["status"]) for r in alerts] == [("BlackboxSslCertificateExpired", "ok")], alerts


@pytest.fixture(scope="module")
def report(stack: tuple[dict[str, str], Path]) -> dict[str, Any]:
    env, repo = stack
    seeded = stackctl("seed", "--history", "10m", "--duration", "0", "--random-seed", "3", env=env, cwd=repo)
    assert seeded.returncode == 0, seeded.stderr
    return dict(json.loads(stackctl("verify", "--json", env=env, cwd=repo).stdout))


def _panels(report: dict[str, Any], title_part: str) -> list[dict[str, Any]]:
    return [r for r in report["results"] if r["kind"] == "panel" and title_part in r["dashboard"]]


def test_default_datasource_and_never_refreshed_variable_panels_populate(report: dict[str, Any]) -> None:
    kafka = _panels(report, "Kafka")
    assert len(kafka) == 5, kafka  # 3 of the exporter's dashboard, 2 of the mixin's
    assert all(r["status"] == "populated" for r in kafka), [(r["panel"], r["status"], r["detail"]) for r in kafka]
    assert any("perf-consumer-74084" in r["query"] for r in kafka)  # the saved selection, as Grafana sends it
    files = [r for r in report["results"] if r["kind"] == "dashboard" and "kafka-exporter-overview" in r["dashboard"]]
    assert files and all(r["status"] == "ok" for r in files), files  # was: datasource 'default' is not provisioned


def test_another_grafanas_datasource_name_is_adopted_and_populated(report: dict[str, Any]) -> None:
    """The mixin's panels name "Postgres Overview", its author's Prometheus: provisioned against the
    stack's Prometheus (with a warning on the dashboard file), they are populated."""
    pg = _panels(report, "Postgres Overview")
    assert [r["status"] for r in pg] == ["populated"], pg


def test_equality_matcher_on_an_all_value_says_why_it_stays_empty(report: dict[str, Any]) -> None:
    """postgres_exporter's Buffers panel: `instance='$instance'` with $instance = All (`.*`):
    Grafana sends `instance='.*'`, which matches nothing; verify says empty, and why."""
    buffers = _panels(report, "Postgres Buffers")
    assert [r["status"] for r in buffers] == ["empty"], buffers
    assert "instance='.*' compares a variable's All/multi value literally" in buffers[0]["detail"], buffers[0]


def test_a_value_filter_that_keeps_nothing_when_healthy_is_ok(report: dict[str, Any]) -> None:
    """ingress-nginx "Last Config Failed": `count(..._config_last_reload_successful == 0)` has
    no series while every reload succeeds; Grafana shows N/A, by design (was: empty, a failure)."""
    nginx = {r["panel"]: r for r in _panels(report, "NGINX Ingress controller")}
    assert nginx["Controller Request Volume"]["status"] == "populated", nginx
    last = nginx["Last Config Failed"]
    assert last["status"] == "ok" and "'== 0' keeps none of the" in last["detail"], last
