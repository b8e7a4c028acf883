from pathlib import Path

import pytest

from stackctl.errors import ScenarioError
from stackctl.packs import PACKS
from stackctl.seeding.catalog import list_scenarios, load_scenario
from stackctl.seeding.scenario import parse_duration

CATALOG = Path(__file__).resolve().parents[3] / "fixtures" / "scenarios"
GOOD = """\
name: demo
description: a demo
packs: [preview]
phases:
  - {name: bad, duration: 10m}
metrics:
  - name: jobs_total
    type: counter
    rate: 1
"""


def _write(tmp_path: Path, text: str, name: str = "demo") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    _write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario("demo", tmp_path)
    return exc.value.message


def test_good_file_loads(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    assert load_scenario("demo", tmp_path).metrics[0].rate == 1


def test_unknown_key_names_file_line_field_and_suggests(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD.replace("    rate: 1", "    rat: 1"))
    assert f"{tmp_path / 'demo.yaml'}:9: metrics.0.rat: unknown key 'rat' (did you mean 'rate'?)" in msg


def test_histogram_without_buckets(tmp_path: Path) -> None:
    text = GOOD + "  - name: lat_seconds\n    type: histogram\n    rate: 1\n    distribution: 1\n"
    msg = _error(tmp_path, text)
    assert ":10: metrics.1.buckets: a histogram needs buckets" in msg


def test_negative_weight_and_unknown_phase(tmp_path: Path) -> None:
    text = GOOD + ("    series:\n      - labels: {a: x}\n        weight: -1\n"
                   "        phases: {bda: {weight: 2}}\n")
    msg = _error(tmp_path, text)
    assert ":12: metrics.0.series.0.weight: weight must be positive or 0" in msg
    assert "metrics.0.series.0.phases.bda: unknown phase 'bda' (did you mean 'bad'?)" in msg


def test_phases_longer_than_history(tmp_path: Path) -> None:
    msg = _error(tmp_path, GOOD.replace("duration: 10m", "duration: 2h"))
    assert ":4: phases: phases span 2h but the scenario's history is 30m" in msg


def test_unknown_template_field(tmp_path: Path) -> None:
    text = GOOD + ("logs:\n  - labels: {service: x}\n    rate: 1\n"
                   "    messages:\n      - {template: 'job {jobid} done'}\n")
    msg = _error(tmp_path, text)
    assert "logs.0.messages.0.template: unknown field {jobid} (did you mean 'job_id'?)" in msg


def test_unknown_scenario_suggests() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'preview-failures'"):
        load_scenario("preview-failure", CATALOG)


@pytest.mark.parametrize("text,seconds", [("30m", 1800), ("1h30m", 5400), ("90s", 90), (45, 45), ("500ms", 0.5)])
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("30 minutes")


REQUIRED = ["preview-healthy", "preview-failures", "preview-slow", "preview-queue-stalled", "finance-privacy-denials",
            "cluster-failures", "cluster-latency-regression", "cluster-redis-backlog", "cluster-noise-surge",
            "ik-readiness-latency", "ik-image-backlog", "ik-rate-limit-abuse", "luneo-queue-wait", "luneo-cost-spike",
            "http-error-spike", "http-latency", "all-healthy"]


def test_catalog_has_required_scenarios() -> None:
    assert set(REQUIRED) <= set(list_scenarios(CATALOG))


@pytest.mark.parametrize("name", sorted(list_scenarios(CATALOG)))
def test_every_scenario_feeds_every_metric_of_its_packs(name: str) -> None:
    sc = load_scenario(name, CATALOG)
    written = {m.name for m in sc.metrics} | {n for r in sc.redis for n in (r.pending_metric, r.lag_metric) if n}
    packs = {p.name: p for p in PACKS}
    for pack in sc.packs:
        missing = set(packs[pack].metrics) - written
        assert not missing, f"{name} does not feed {missing} of pack {pack}"
        known_alerts = {a for p in PACKS for a in p.alerts}
        assert {a.name for a in sc.expected_alerts} <= known_alerts
