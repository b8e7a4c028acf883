"""Routes -> synthetic labels, Alertmanager's routing algorithm, and the sink's NDJSON."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import pytest

from stackctl.assets import asset_path
from stackctl.errors import VerifyError
from stackctl.verify import routes as rt
from stackctl.verify.alerts import SYNTHETIC_NAME, fire_alerts, parse_notifications, plan


def _tree(doc: Mapping[str, Any]) -> rt.Route:
    return rt.build_route(doc)


@pytest.mark.parametrize(("text", "matcher"), [
    ('severity=~"page|critical"', rt.Matcher("severity", "=~", "page|critical")),
    ("team = infra", rt.Matcher("team", "=", "infra")),
    ('env!="prod"', rt.Matcher("env", "!=", "prod")),
    ('"quoted"!~"a\\\\.b"', rt.Matcher("quoted", "!~", "a\\.b")),
])
def test_parse_matcher(text: str, matcher: rt.Matcher) -> None:
    assert rt.parse_matcher(text) == matcher


def test_bad_matchers_are_errors() -> None:
    with pytest.raises(VerifyError):
        rt.parse_matcher("no operator")
    with pytest.raises(VerifyError):
        rt.parse_matcher('a=~"("')


@pytest.mark.parametrize("matchers", [
    ('severity=~"page|critical"',), ('team="db"', 'env!="prod"'), ('x=~".+"', 'x!~"bad.*"'), ('sev!~"warn|info"',),
    ('code=~"5.."',),
])
def test_satisfy_builds_labels_every_matcher_accepts(matchers: tuple[str, ...]) -> None:
    parsed = tuple(rt.parse_matcher(m) for m in matchers)
    labels = rt.satisfy(parsed, {"alertname": "X"})
    assert all(m.matches(labels) for m in parsed), labels


def test_satisfy_fails_clearly_when_impossible() -> None:
    with pytest.raises(VerifyError, match="cannot build a label value"):
        rt.satisfy((rt.Matcher("a", "=", "x"), rt.Matcher("a", "=", "y")), {})


def test_routing_first_match_continue_and_legacy_forms() -> None:
    tree = _tree({"receiver": "default", "group_wait": "5s", "routes": [
        {"match": {"team": "db"}, "receiver": "db", "continue": True},
        {"match_re": {"severity": "page|critical"}, "receiver": "pager", "routes": [{"matchers": ['team="db"'], "receiver": "db-pager"}]},
        {"matchers": ['severity="page"'], "receiver": "shadowed"},
    ]})
    assert rt.receivers_for(tree, {"team": "db", "severity": "page"}) == [("root.0", "db"), ("root.1.0", "db-pager")]
    assert rt.receivers_for(tree, {"severity": "critical"}) == [("root.1", "pager")]
    assert rt.receivers_for(tree, {"severity": "info"}) == [("root", "default")]
    assert tree.children[1].children[0].group_wait == 5.0  # inherited


def test_plan_one_alert_per_route_and_alternative() -> None:
    doc = {"receiver": "default", "group_by": ["alertname", "pack"], "routes": [
        {"matchers": ['severity=~"page|critical"'], "receiver": "page"},
        {"matchers": ['severity=~"warn|warning"'], "receiver": "warn"},
        {"matchers": ['severity="page"'], "receiver": "never"},
    ]}
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    deliveries = plan(_tree(doc), run_id="r1", now=now)
    seen = [(d.route, d.labels.get("severity"), d.expected, d.status) for d in deliveries]
    assert seen == [("root", None, ("default",), "dry-run"), ("root.0", "page", ("page",), "dry-run"),
                    ("root.0", "critical", ("page",), "dry-run"), ("root.1", "warn", ("warn",), "dry-run"),
                    ("root.1", "warning", ("warn",), "dry-run"), ("root.2", "page", ("page",), "unreachable")]
    first = deliveries[1].payload
    assert first["labels"]["alertname"] == SYNTHETIC_NAME and first["labels"]["stackctl_synthetic"] == "true"
    assert first["startsAt"] == "2024-01-01T00:00:00Z" and first["endsAt"] == "2024-01-01T00:05:00Z"
    packs = {d.labels["pack"] for d in deliveries}
    assert len(packs) == len(deliveries), "each case gets its own aggregation group"


def test_shipped_config_routes_by_severity() -> None:
    config = rt.load_route_config(asset_path("alertmanager", "alertmanager.yml"))
    by_severity = {d.labels.get("severity"): d.expected for d in plan(config.tree)}
    assert by_severity == {None: ("local-default",), "page": ("local-page",), "critical": ("local-page",),
                           "warn": ("local-warning",), "warning": ("local-warning",)}
    assert {"local-page", "local-warning", "local-default"} <= config.observable


def test_dry_run_sends_nothing() -> None:
    config = rt.load_route_config(asset_path("alertmanager", "alertmanager.yml"))
    # An address nothing listens on: a dry run must not even try it.
    deliveries = fire_alerts("http://127.0.0.1:9", config, True)
    assert {d.status for d in deliveries} == {"dry-run"}


def test_parse_notifications_ndjson(tmp_path: Path) -> None:
    body = {"receiver": "local-page", "status": "firing", "groupLabels": {"alertname": "A"}, "commonLabels": {"severity": "page"},
            "alerts": [{"status": "firing", "labels": {"alertname": "A", "severity": "page", "pack": "p"}, "startsAt": "2024-01-01T00:00:00Z"},
                       {"status": "resolved", "labels": {"alertname": "A", "severity": "page", "pack": "q"}, "startsAt": "2024-01-01T00:00:00Z"}]}
    text = json.dumps(body) + "\n\nnot json\n" + json.dumps({"receiver": "r", "alerts": []}) + "\n"
    records = parse_notifications(text)
    assert [(r.receiver, r.status, r.alertname, r.severity, r.labels["pack"]) for r in records] == [
        ("local-page", "firing", "A", "page", "p"), ("local-page", "resolved", "A", "page", "q")]
    assert records[0].group_labels == {"alertname": "A"} and records[0].starts_at == "2024-01-01T00:00:00Z"
