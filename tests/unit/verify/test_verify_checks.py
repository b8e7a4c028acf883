"""The pure parts of the checks: rule health, metric existence, expected alert states."""

from __future__ import annotations

from types import SimpleNamespace

from stackctl.verify.checks import check_expected_alerts, check_metrics, check_rules, expected_alert_results, recorded_names

GROUPS = [
    {"name": "preview", "file": "/r/preview.yml", "rules": [
        {"type": "recording", "name": "job:p95", "query": "histogram_quantile(0.95, rate(d_bucket[5m]))", "health": "ok"},
        {"type": "alerting", "name": "Slow", "query": "job:p95 > 3", "health": "ok", "lastError": ""},
    ]},
    {"name": "broken", "file": "/r/b.yml", "rules": [
        {"type": "alerting", "name": "Bad", "query": "a / b", "health": "err", "lastError": "many-to-many matching not allowed"},
    ]},
]


def _scenario(name: str, packs: list[str], *expected: tuple[str, str]) -> SimpleNamespace:
    return SimpleNamespace(name=name, packs=packs, expected_alerts=[SimpleNamespace(name=n, state=s, within=1.0) for n, s in expected])


def _alert(name: str, state: str, pack: str = "preview") -> dict[str, object]:
    return {"labels": {"alertname": name, "pack": pack}, "state": state}


def test_rules_health() -> None:
    ok, bad = check_rules(GROUPS)
    assert ok.status == "ok" and ok.dashboard == "/r/preview.yml:preview"
    assert bad.status == "error" and bad.panel == "Bad" and "many-to-many" in bad.detail and bad.query == "a / b"


def test_metrics_recording_rules_are_known_and_typos_named() -> None:
    known = frozenset({"d_bucket"}) | recorded_names(GROUPS)
    sources = {"job:p95 > 3": "rule preview/Slow", "rate(d_buckte[5m])": "panel D / P"}
    results = {r.panel: r for r in check_metrics(sources, known)}
    assert results["job:p95"].status == "ok"
    assert results["d_buckte"].status == "empty" and "panel D / P" in results["d_buckte"].detail


def test_metric_check_uses_set_operator_semantics() -> None:
    """A healthy `x unless y` rule is not blamed for y; `a or b` needs one side; absent() expects none."""
    sources = {"x unless y": "rule g/XWithoutY", "sum(a or b)": "rule g/AOrB", "absent(gone)": "rule g/Gone",
               'sum(rate(x[5m])) / on(job) group_left up{job="a"}': "panel D / P", "sum(rate(x[5m]) /": "panel D / Broken"}
    results = {r.panel: r.status for r in check_metrics(sources, frozenset({"x", "b"}))}
    assert results == {"x": "ok", "b": "ok", "up": "empty"}  # `up` missing; y, a, gone not required; the broken query skipped


def test_expected_alerts_states() -> None:
    sc = _scenario("preview-failures", ["preview"], ("A", "pending"), ("B", "firing"), ("C", "pending"))
    results = {r.panel: r.status for r in expected_alert_results(sc, [_alert("A", "firing"), _alert("B", "pending")])}
    assert results == {"A": "ok", "B": "error", "C": "error"}


def test_healthy_scenario_expects_silence_from_its_packs() -> None:
    sc = _scenario("preview-healthy", ["preview"])
    quiet = expected_alert_results(sc, [_alert("Other", "firing", pack="luneo")])
    assert [r.status for r in quiet] == ["ok"]
    noisy = expected_alert_results(sc, [_alert("Slow", "pending")])
    assert [(r.panel, r.status) for r in noisy] == [("Slow", "error")]


def test_expected_alerts_poll_until_within() -> None:
    answers = [[], [], [_alert("A", "pending")]]
    prom = SimpleNamespace(alerts=lambda: answers.pop(0))
    now = [0.0]
    results = check_expected_alerts(_scenario("s", ["preview"], ("A", "pending")), prom, wait=10,  # type: ignore[arg-type]
                                    clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert [r.status for r in results] == ["ok"] and now[0] == 4.0
