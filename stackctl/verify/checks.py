"""The checks ``stackctl verify`` runs against a live stack, each yielding CheckResult records.

* panels and annotations: see :mod:`stackctl.verify.dashboards`;
* rules: every rule group healthy (``/api/v1/rules``: health ok, no lastError);
* metrics: every metric a rule or panel reads has series (pint's "series" check);
* alerts: a seeded scenario's ``expected_alerts`` are pending/firing; a scenario that expects
  none leaves its packs' alerts quiet.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from stackctl.query import promql
from stackctl.verify.client import Prometheus
from stackctl.verify.dashboards import RULE_MANAGER_SERIES, ResolvedDashboard
from stackctl.verify.results import FAILING, CheckResult, Status

__all__ = ["FAILING", "CheckResult", "Status"]

METRICS_WINDOW = 3600.0  # a metric "exists" when it has a series in the last hour


# -- rules ----------------------------------------------------------------------------------

def check_rules(groups: list[dict[str, Any]]) -> list[CheckResult]:
    """One result per group: ok, or error naming the first unhealthy rule and its lastError."""
    results = []
    for g in groups:
        where = f"{g.get('file', '')}:{g.get('name', '')}"
        bad = [r for r in g.get("rules") or [] if r.get("health", "ok") not in ("ok", "unknown") or r.get("lastError")]
        if bad:
            r = bad[0]
            detail = f"{len(bad)} unhealthy rule(s); {r.get('name')}: health {r.get('health')}: {r.get('lastError') or 'no error text'}"
            results.append(CheckResult("rules", where, str(r.get("name", "")), str(r.get("query", "")), "error", detail))
        else:
            results.append(CheckResult("rules", where, str(g.get("name", "")), "", "ok", f"{len(g.get('rules') or [])} rules healthy"))
    return results




def recorded_names(groups: list[dict[str, Any]]) -> frozenset[str]:
    """Recording rules' outputs: known names even before their first evaluation writes them;
    ``ALERTS``/``ALERTS_FOR_STATE`` too when there are alerting rules."""
    names = frozenset(r["name"] for g in groups for r in g.get("rules") or [] if r.get("type") == "recording" and r.get("name"))
    alerting = any(r.get("type") == "alerting" for g in groups for r in g.get("rules") or [])
    return names | RULE_MANAGER_SERIES if alerting else names


# -- metrics --------------------------------------------------------------------------------

def metric_sources(groups: list[dict[str, Any]], dashboards: list[ResolvedDashboard]) -> dict[str, str]:
    """Every PromQL expression to scan -> who uses it (first user wins for the message)."""
    sources: dict[str, str] = {}
    for g in groups:
        for r in g.get("rules") or []:
            sources.setdefault(str(r.get("query", "")), f"rule {g.get('name')}/{r.get('name')}")
    for d in dashboards:
        for expr, user in d.prometheus_exprs():
            sources.setdefault(expr, user)
    return sources


def check_metrics(sources: dict[str, str], known: frozenset[str]) -> list[CheckResult]:
    """pint-style: each missing metric once, naming its first user; one ok row per present one."""
    missing: dict[str, tuple[str, str]] = {}
    present: set[str] = set()
    for expr, user in sources.items():
        query = promql.try_parse(expr)
        if query is None:
            continue  # the panel or rule check reports Prometheus' own parse error
        for sel in query.missing(lambda s: s.exists_in(known)):
            missing.setdefault(_name(sel), (expr, user))
        present.update(_name(s) for s in query.selectors if s.exists_in(known))
    results = [CheckResult("metric", "metrics", name, expr, "empty", f"no series named {name} in Prometheus (last hour); read by {user}")
               for name, (expr, user) in sorted(missing.items())]
    results += [CheckResult("metric", "metrics", name, "", "ok", "has series") for name in sorted(present - set(missing))]
    return results


def _name(sel: promql.Selector) -> str:
    """What "no series named X" names: the metric, or the ``{__name__=~...}`` matcher."""
    if sel.name is not None:
        return sel.name
    return "{" + ",".join(str(m) for m in sel.matchers if m.label == "__name__") + "}"


# -- expected alerts ------------------------------------------------------------------------

def _alert_states(alerts: list[dict[str, Any]], name: str, labels: dict[str, str]) -> set[str]:
    """The states of the alerts named ``name`` carrying every one of ``labels``."""
    out = set()
    for a in alerts:
        have = {str(k): str(v) for k, v in (a.get("labels") or {}).items()}
        if have.get("alertname") == name and all(have.get(k) == v for k, v in labels.items()):
            out.add(str(a.get("state")))
    return out


def _satisfied(expected: str, seen: set[str]) -> bool:
    # pending is on the way to firing: a firing alert satisfies "pending" too
    return "firing" in seen or (expected == "pending" and "pending" in seen)


def expected_alert_results(scenario: Any, alerts: list[dict[str, Any]]) -> list[CheckResult]:
    out = []
    for exp in scenario.expected_alerts:
        labels = dict(getattr(exp, "labels", None) or {})
        seen = _alert_states(alerts, exp.name, labels)
        ok = _satisfied(exp.state, seen)
        detail = f"expected {exp.state}, Prometheus reports {', '.join(sorted(seen)) or 'inactive'}"
        shown = exp.name + ("{" + ",".join(f"{k}={v!r}" for k, v in sorted(labels.items())) + "}" if labels else "")
        out.append(CheckResult("alert", scenario.name, shown, "", "ok" if ok else "error", detail))
    if not scenario.expected_alerts:
        packs = set(scenario.packs)
        noisy = sorted({str(a["labels"].get("alertname")) for a in alerts if (a.get("labels") or {}).get("pack") in packs})
        out += [CheckResult("alert", scenario.name, name, "", "error", "the scenario expects no alert, but it is pending/firing")
                for name in noisy]
        if not noisy:
            out.append(CheckResult("alert", scenario.name, "(no alerts expected)", "", "ok", f"no alert of {', '.join(sorted(packs))} active"))
    return out


def check_expected_alerts(scenario: Any, prom: Prometheus, wait: float | None = None,
                          clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> list[CheckResult]:
    """Poll until every expected alert is in its state, for at most the longest ``within``
    (right after seeding, the next rule evaluation has not happened yet)."""
    budget = wait if wait is not None else min(max([e.within for e in scenario.expected_alerts] or [0.0]), 120.0)
    deadline = clock() + budget
    while True:
        results = expected_alert_results(scenario, prom.alerts())
        if not any(r.failed for r in results) or clock() >= deadline:
            return results
        sleep(2.0)
