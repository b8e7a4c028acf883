"""Alerts as the stack sees them, synthetic alerts through every route, and the sink's log.

* ``current_alerts``: Prometheus' ``/api/v1/alerts`` and Alertmanager's ``/api/v2/alerts``;
* ``fire_alerts``: one synthetic alert per route of the route tree, posted to Alertmanager,
  then the notification sink is polled to see which receiver each reached;
* ``notifications``: the sink's newline-delimited webhook bodies as flat records.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

import requests

from stackctl.errors import VerifyError
from stackctl.verify import routes as rt
from stackctl.verify.client import get_json
from stackctl.verify.time_intervals import held_back_now

log = logging.getLogger("stackctl.verify.alerts")
SYNTHETIC_NAME = "StackctlSyntheticAlert"
SINK_PATH = "/cgi-bin/notify"
SLACK = 15.0  # beyond group_wait: evaluation, webhook retries, the sink's own write


@dataclass(frozen=True)
class AlertRow:
    source: str  # prometheus | alertmanager
    alertname: str
    state: str  # pending/firing (Prometheus), active/suppressed/unprocessed (Alertmanager)
    severity: str
    labels: dict[str, str]
    value: str = ""
    active_at: str = ""
    receivers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notification:
    receiver: str
    status: str  # firing | resolved
    alertname: str
    severity: str
    labels: dict[str, str]
    starts_at: str
    group_labels: dict[str, str] = field(default_factory=dict)
    common_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """One synthetic alert: the route it targets, where it should go, where it went."""

    route: str
    matchers: str
    expected: tuple[str, ...]
    reached: tuple[str, ...]
    status: str  # ok | missing | muted | unreachable | dry-run | sent
    labels: dict[str, str]
    payload: dict[str, Any]
    detail: str = ""
    group_labels: dict[str, str] = field(default_factory=dict)
    common_labels: dict[str, str] = field(default_factory=dict)
    if_missing: str = ""  # why Alertmanager may rightly hold this one back (muting, a shared group)
    muted: str = ""  # the route's time intervals mute it at the time of sending


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- what is active now -------------------------------------------------------------------

def prometheus_alerts(url: str) -> list[AlertRow]:
    body = get_json("Prometheus", f"{url.rstrip('/')}/api/v1/alerts")
    return [AlertRow("prometheus", str(a["labels"].get("alertname", "")), str(a.get("state", "")), str(a["labels"].get("severity", "")),
                     dict(a["labels"]), str(a.get("value", "")), str(a.get("activeAt", "")))
            for a in (body.get("data") or {}).get("alerts") or []]


def alertmanager_alerts(url: str) -> list[AlertRow]:
    body = get_json("Alertmanager", f"{url.rstrip('/')}/api/v2/alerts")
    return [AlertRow("alertmanager", str(a["labels"].get("alertname", "")), str((a.get("status") or {}).get("state", "")),
                     str(a["labels"].get("severity", "")), dict(a["labels"]), "", str(a.get("startsAt", "")),
                     tuple(str(r.get("name")) for r in a.get("receivers") or []))
            for a in body or []]


def current_alerts(prometheus_url: str | None, alertmanager_url: str | None) -> list[AlertRow]:
    """Both views; a source left out of the stack (URL None) is simply not asked."""
    rows = prometheus_alerts(prometheus_url) if prometheus_url else []
    return rows + (alertmanager_alerts(alertmanager_url) if alertmanager_url else [])


# -- the sink ---------------------------------------------------------------------------------

def parse_notifications(text: str) -> list[Notification]:
    """One record per alert per webhook body; unreadable lines are logged and left out."""
    out: list[Notification] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
            out += _records(body)
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("notification sink line %d is not a webhook body (%s): %.120s", number, exc, line)
    return out


def _records(body: dict[str, Any]) -> list[Notification]:
    group, common = dict(body.get("groupLabels") or {}), dict(body.get("commonLabels") or {})
    return [Notification(str(body.get("receiver", "")), str(a.get("status") or body.get("status", "")),
                         str(a["labels"].get("alertname", "")), str(a["labels"].get("severity", "")),
                         dict(a["labels"]), str(a.get("startsAt", "")), group, common)
            for a in body.get("alerts") or []]


def notifications(sink_url: str) -> list[Notification]:
    try:
        resp = requests.get(f"{sink_url.rstrip('/')}{SINK_PATH}", timeout=10)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise VerifyError(f"cannot read the notification sink at {sink_url}: {exc}",
                          hint="it runs with Alertmanager: `stackctl up` (services must include alertmanager)") from None
    return parse_notifications(resp.text)


# -- synthetic alerts -------------------------------------------------------------------------

def _synthetic(route: rt.Route, needed: tuple[rt.Matcher, ...], tree: rt.Route, case: str, prefer: dict[str, str], run_id: str,
               now: datetime, inhibit_equal: tuple[tuple[str, ...], ...] = (),
               intervals: Mapping[str, list[dict[str, Any]]] | None = None) -> Delivery:
    base = {"alertname": SYNTHETIC_NAME, "stackctl_synthetic": "true", "stackctl_route": route.path,
            "stackctl_case": case, "stackctl_run": run_id, **prefer}
    constrained = {m.label for m in needed}
    # A fresh aggregation group per run and case: Alertmanager then notifies after group_wait,
    # not after group_interval as for a new alert joining an old group; and one case never
    # inhibits another through an `equal:` on these labels.
    for label in route.group_by:
        if label not in constrained and label not in base and label != "...":
            base[label] = f"synthetic-{run_id}-{case}"
    _apart(base, constrained, inhibit_equal, f"synthetic-{run_id}-{case}")
    labels = rt.satisfy(needed, base)
    reached = rt.receivers_for(tree, labels)
    payload = {"labels": labels, "annotations": {"summary": f"stackctl fire-alerts: synthetic alert for route {route.path}"},
               "startsAt": _iso(now), "endsAt": _iso(now + timedelta(minutes=5))}
    hits = route.path in {p for p, _ in reached}
    fresh = any(label in base and label not in prefer and str(base[label]).startswith("synthetic-") for label in route.group_by)
    return Delivery(route.path, ", ".join(map(str, needed)) or "(default route)", tuple(dict.fromkeys(r for _, r in reached)), (),
                    "dry-run" if hits else "unreachable", labels, payload,
                    "" if hits else f"shadowed: an earlier sibling route without `continue` takes it (goes to {', '.join(r for _, r in reached)})",
                    if_missing=_held_back(route, fresh or "..." in route.group_by),
                    muted=held_back_now(route.mute_time_intervals, route.active_time_intervals, intervals or {}, now))


def _apart(base: dict[str, str], constrained: set[str], inhibit_equal: tuple[tuple[str, ...], ...], unique: str) -> None:
    """Keep this run's synthetic alerts from inhibiting one another: for each inhibit rule, one
    of its ``equal:`` labels gets a value of this case's own (kube-prometheus' rules say
    ``equal: [namespace, alertname]``, so the critical case would mute the warning one). Only
    when nothing else is free is ``alertname`` itself made distinct."""
    for equal in inhibit_equal:
        if any(base.get(label, "").endswith(unique) for label in equal):
            continue
        free = [label for label in equal if label not in constrained and label not in base]
        if free:
            base[free[0]] = unique
        elif "alertname" in equal and "alertname" not in constrained:
            base["alertname"] = f"{SYNTHETIC_NAME}-{unique.rsplit('-', 1)[-1]}"


def _held_back(route: rt.Route, fresh_group: bool) -> str:
    """What in the user's config makes Alertmanager hold a notification back, said where it applies."""
    notes = []
    if route.mute_time_intervals:
        notes.append(f"the route mutes notifications during {', '.join(route.mute_time_intervals)} (mute_time_intervals)")
    if route.active_time_intervals:
        notes.append(f"the route notifies only during {', '.join(route.active_time_intervals)} (active_time_intervals)")
    if not fresh_group:
        notes.append(f"the route groups alerts by {', '.join(route.group_by) or 'nothing'}, so the synthetic alert joins a group "
                     f"other alerts may already be in and waits for its next group_interval ({route.group_interval:.0f}s)")
    return "; ".join(notes)


def plan(tree: rt.Route, run_id: str | None = None, now: datetime | None = None,
         inhibit_equal: tuple[tuple[str, ...], ...] = (), intervals: Mapping[str, list[dict[str, Any]]] | None = None) -> list[Delivery]:
    """Synthetic alerts for every route (the root's default receiver included): one per
    literal alternative of its regex matchers (page and critical for ``=~"page|critical"``)."""
    run_id = run_id or secrets.token_hex(4)
    now = now or datetime.now(timezone.utc)
    out = []
    for route, needed in rt.walk(tree):
        for i, prefer in enumerate(rt.variants(route.matchers)):
            out.append(_synthetic(route, needed, tree, f"{route.path}#{i}", prefer, run_id, now, inhibit_equal, intervals))
    return out


def wait_budget(tree: rt.Route) -> float:
    """How long notifications may take: group_wait (fresh groups) + slack, per route."""
    return max(r.group_wait for r, _ in rt.walk(tree)) + SLACK


def fire_alerts(alertmanager_url: str, routes: rt.RouteConfig, dry_run: bool, *, sink_url: str | None = None,
                timeout: float | None = None, clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep) -> list[Delivery]:
    """Post one synthetic alert per route; then poll the sink until each reached its receivers."""
    deliveries = plan(routes.tree, inhibit_equal=routes.inhibit_equal, intervals=routes.intervals)
    if dry_run:
        return deliveries
    sendable = [d for d in deliveries if d.status != "unreachable"]
    try:
        resp = requests.post(f"{alertmanager_url.rstrip('/')}/api/v2/alerts", json=[d.payload for d in sendable], timeout=10)
    except requests.RequestException as exc:
        raise VerifyError(f"cannot reach Alertmanager at {alertmanager_url}: {exc}", hint="start the stack (stackctl up) or pass --alertmanager-url") from None
    if resp.status_code >= 300:
        raise VerifyError(f"Alertmanager rejected the synthetic alerts: HTTP {resp.status_code}: {resp.text[:300]}")
    if sink_url is None:
        return [replace(d, status="sent", detail="no notification sink to observe") if d.status != "unreachable" else d for d in deliveries]
    budget = timeout if timeout is not None else wait_budget(routes.tree)
    return _observe(deliveries, routes.observable, sink_url, budget, clock, sleep, routes.silent)


def _update(d: Delivery, seen: list[Notification], observable: frozenset[str], silent: frozenset[str] = frozenset()) -> Delivery:
    if d.status == "unreachable":
        return d
    reached = tuple(dict.fromkeys(n.receiver for n in seen))
    missing = [r for r in d.expected if r in observable and r not in reached]
    elsewhere = [r for r in d.expected if r not in observable and r not in silent]
    dropped = [r for r in d.expected if r in silent]
    notes = [f"no notification for {', '.join(missing)}" + (f" ({d.if_missing})" if d.if_missing else "")] if missing else []
    notes += [f"routed to {', '.join(dropped)}, which has no integrations: Alertmanager notifies nobody (as configured)"] if dropped else []
    notes += [f"also sent to {', '.join(elsewhere)} (not the local sink: not observable here)"] if elsewhere else []
    first = seen[0] if seen else None
    status = "missing" if missing else "ok"
    if missing and d.muted:  # Alertmanager holds it back as the user's config says
        status, notes = "muted", [f"{d.muted}: no notification, as configured", *notes[1:]]
    return Delivery(d.route, d.matchers, d.expected, reached, status, d.labels, d.payload, "; ".join(notes),
                    first.group_labels if first else {}, first.common_labels if first else {}, d.if_missing, d.muted)


def _observe(deliveries: list[Delivery], observable: frozenset[str], sink_url: str, timeout: float, clock: Callable[[], float],
             sleep: Callable[[float], None], silent: frozenset[str] = frozenset()) -> list[Delivery]:
    run = deliveries[0].labels.get("stackctl_run") if deliveries else None
    deadline = clock() + timeout
    while True:
        mine = [n for n in notifications(sink_url) if n.labels.get("stackctl_run") == run and n.status == "firing"]
        result = [_update(d, [n for n in mine if n.labels.get("stackctl_case") == d.labels["stackctl_case"]], observable, silent) for d in deliveries]
        if all(d.status != "missing" for d in result):
            return result
        if clock() >= deadline:
            return [replace(d, detail=f"{d.detail} within {timeout:.0f}s") if d.status == "missing" else d for d in result]
        sleep(1.0)
