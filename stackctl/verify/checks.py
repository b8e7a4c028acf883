"""The checks ``stackctl verify`` runs against a live stack, each yielding CheckResult records.

* panels: every query of every panel over the dashboard's default range -> populated, empty,
  error (Prometheus' or Loki's message) or skipped (Loki not running, unknown datasource);
* rules: every rule group healthy (``/api/v1/rules``: health ok, no lastError);
* metrics: every metric a rule or panel reads has series (pint's "series" check);
* alerts: a seeded scenario's ``expected_alerts`` are pending/firing; a scenario that expects
  none leaves its packs' alerts quiet.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Literal

from stackctl.dashboards.panels import Dashboard, Panel, Target
from stackctl.verify import promql
from stackctl.verify.client import Loki, Prometheus, QueryOutcome

Status = Literal["populated", "empty", "error", "skipped", "ok"]
FAILING = ("empty", "error")
METRICS_WINDOW = 3600.0  # a metric "exists" when it has a series in the last hour


@dataclass(frozen=True)
class CheckResult:
    kind: str  # panel | rules | metric | alert
    dashboard: str  # the dashboard title; for other kinds, what was checked (rule group, ...)
    panel: str  # panel title; rule, metric or alert name
    query: str
    status: Status
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# -- panels ---------------------------------------------------------------------------------

def _run_target(t: Target, d: Dashboard, prom: Prometheus, loki: Loki | None, loki_skip: str | None) -> tuple[QueryOutcome | None, str]:
    """The outcome, or None and the reason the target was not run."""
    if t.datasource == "prometheus":
        return prom.query_range(t.expr, d.window.start, d.window.end, d.window.step), ""
    if t.datasource == "loki":
        if loki is None:
            return None, loki_skip or "Loki is not running"
        return loki.query_range(t.expr, d.window.start, d.window.end, d.window.step), ""
    return None, f"datasource {t.datasource.removeprefix('other:')} is not checked"


def check_panel(d: Dashboard, panel: Panel, prom: Prometheus, loki: Loki | None, loki_skip: str | None = None) -> CheckResult:
    """populated when any target returned data; error when any target failed to run."""
    if not panel.targets:
        return CheckResult("panel", d.title, panel.title, "", "skipped", "no queries (text or row panel)")
    ran, errors, skips = [], [], []
    for t in panel.targets:
        outcome, why = _run_target(t, d, prom, loki, loki_skip)
        if outcome is None:
            skips.append(why)
        elif outcome.error:
            errors.append((t, outcome.error))
        else:
            ran.append((t, outcome))
    if errors:
        t, err = errors[0]
        return CheckResult("panel", d.title, panel.title, t.expr, "error", f"{t.datasource} rejected the query: {err}")
    if any(o.samples for _, o in ran):
        n = sum(o.series for _, o in ran)
        return CheckResult("panel", d.title, panel.title, _queries(t for t, _ in ran), "populated", f"{n} series")
    if ran:
        return CheckResult("panel", d.title, panel.title, _queries(t for t, _ in ran), "empty",
                           f"no data over {d.window.range / 60:.0f}m (the dashboard's default range)")
    return CheckResult("panel", d.title, panel.title, _queries(panel.targets), "skipped", skips[0])


def _queries(targets: Iterable[Target]) -> str:
    return "\n".join(dict.fromkeys(t.expr for t in targets))


def check_dashboards(dashboards: list[Dashboard], prom: Prometheus, loki: Loki | None, loki_skip: str | None = None,
                     progress: Callable[[str], None] = lambda _m: None) -> list[CheckResult]:
    results = []
    for d in dashboards:
        progress(f"checking {d.title}")
        results += [check_panel(d, p, prom, loki, loki_skip) for p in d.panels]
    return results


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
    """Recording rules' outputs: known names even before their first evaluation writes them."""
    return frozenset(r["name"] for g in groups for r in g.get("rules") or [] if r.get("type") == "recording" and r.get("name"))


# -- metrics --------------------------------------------------------------------------------

def metric_sources(groups: list[dict[str, Any]], dashboards: list[Dashboard]) -> dict[str, str]:
    """Every PromQL expression to scan -> who uses it (first user wins for the message)."""
    sources: dict[str, str] = {}
    for g in groups:
        for r in g.get("rules") or []:
            sources.setdefault(str(r.get("query", "")), f"rule {g.get('name')}/{r.get('name')}")
    for d in dashboards:
        for p in d.panels:
            for t in p.targets:
                if t.datasource == "prometheus":
                    sources.setdefault(t.expr, f"panel {d.title} / {p.title}")
    return sources


def check_metrics(sources: dict[str, str], known: frozenset[str]) -> list[CheckResult]:
    """pint-style: each missing metric once, naming its first user; one ok row per present one."""
    missing: dict[str, tuple[str, str]] = {}
    present: set[str] = set()
    for expr, user in sources.items():
        for sel in promql.missing_selectors(expr, known):
            missing.setdefault(str(sel), (expr, user))
        present.update(str(s) for s in promql.selectors(expr) if s.matches(known))
    results = [CheckResult("metric", "metrics", name, expr, "empty", f"no series named {name} in Prometheus (last hour); read by {user}")
               for name, (expr, user) in sorted(missing.items())]
    results += [CheckResult("metric", "metrics", name, "", "ok", "has series") for name in sorted(present - set(missing))]
    return results


# -- expected alerts ------------------------------------------------------------------------

def _alert_states(alerts: list[dict[str, Any]]) -> dict[str, set[str]]:
    states: dict[str, set[str]] = {}
    for a in alerts:
        states.setdefault(str((a.get("labels") or {}).get("alertname")), set()).add(str(a.get("state")))
    return states


def _satisfied(expected: str, seen: set[str]) -> bool:
    # pending is on the way to firing: a firing alert satisfies "pending" too
    return "firing" in seen or (expected == "pending" and "pending" in seen)


def expected_alert_results(scenario: Any, alerts: list[dict[str, Any]]) -> list[CheckResult]:
    states = _alert_states(alerts)
    out = []
    for exp in scenario.expected_alerts:
        seen = states.get(exp.name, set())
        ok = _satisfied(exp.state, seen)
        detail = f"expected {exp.state}, Prometheus reports {', '.join(sorted(seen)) or 'inactive'}"
        out.append(CheckResult("alert", scenario.name, exp.name, "", "ok" if ok else "error", detail))
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
