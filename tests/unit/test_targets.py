"""Hints for the user's targets that are down: one per cause Prometheus reports."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from stackctl.byo.targets import TargetInfo, _info, target_hint

NOW = datetime(2025, 5, 1, 12, 0, 10, tzinfo=timezone.utc)


def target(error: str, health: str = "down", user: bool = True) -> TargetInfo:
    return TargetInfo("app", "host.docker.internal:8000", "http://host.docker.internal:8000/metrics", health,
                      "2025-05-01T12:00:00Z", 10.0, error, user)


@pytest.mark.parametrize(("runtime", "error", "expected"), [
    ("docker", 'Get "http://host.docker.internal:8000/metrics": dial tcp 172.17.0.1:8000: connect: connection refused', "0.0.0.0"),
    ("native", 'Get "http://127.0.0.1:8000/metrics": dial tcp 127.0.0.1:8000: connect: connection refused', "is your app running"),
    ("docker", "dial tcp: lookup host.docker.internal on 127.0.0.11:53: no such host", "host-gateway"),
    ("docker", "context deadline exceeded", "firewall"),
    ("native", "server returned HTTP status 404 Not Found", "set `path:`"),
    ("native", "some new failure", "some new failure"),
])
def test_hint_per_cause(runtime: str, error: str, expected: str) -> None:
    hint = target_hint(target(error), runtime)
    assert hint and expected in hint
    assert "curl http://127.0.0.1:8000/metrics" in hint or "path:" in hint or "host-gateway" in hint


def test_no_hint_when_up_or_not_ours() -> None:
    assert target_hint(target("", "up"), "docker") is None
    assert target_hint(target("connection refused", user=False), "docker") is None
    assert "not scraped yet" in (target_hint(target("", "unknown"), "docker") or "")


def test_info_from_api_payload() -> None:
    raw = {"scrapePool": "app", "scrapeUrl": "http://127.0.0.1:8000/metrics", "health": "up", "lastError": "",
           "labels": {"job": "app", "instance": "127.0.0.1:8000"}, "lastScrape": "2025-05-01T12:00:07.123456789Z"}
    info = _info(raw, True, "native", NOW)
    assert (info.job, info.instance, info.health, info.hint) == ("app", "127.0.0.1:8000", "up", None)
    assert info.last_scrape_age == pytest.approx(2.876544)
    never = _info({**raw, "health": "unknown", "lastScrape": "0001-01-01T00:00:00Z"}, True, "native", NOW)
    assert never.last_scrape is None and never.last_scrape_age is None


def test_a_service_name_of_another_setup_is_named_not_host_gateway() -> None:
    """dockprom-style jobs (`nodeexporter:9100`) from a user's prometheus.yml: no such host here."""
    info = TargetInfo("nodeexporter", "nodeexporter:9100", "http://nodeexporter:9100/metrics", "down", None, None,
                      'Get "http://nodeexporter:9100/metrics": dial tcp: lookup nodeexporter on 10.0.0.53:53: no such host', True)
    hint = target_hint(info, "native")
    assert hint and "'nodeexporter' does not resolve on this machine" in hint and "host-gateway" not in hint
