"""Dashboard checks: every panel copy Grafana would show, every annotation query, against the stack.

Per panel copy (a repeated panel once per value of its variable): ``populated`` when a query
returned data; ``error`` with Prometheus' (or Loki's) message when one was rejected; ``empty``
when none returned data, with the real reason when a variable it uses has no values ("variable
`instance` has no values: no series of `node_uname_info`"; the query is still sent with the
empty value, as Grafana sends it, and may match series without that label); ``skipped`` with the reason when its
queries cannot run here (a PostgreSQL panel, a library panel not in the file, a text panel, Loki
not running). Annotation queries run over the dashboard's range: an error fails, no events is ok.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from stackctl.dashboards import Dashboard, PanelInstance, ResolvedAnnotation, ResolvedTarget, Resolver
from stackctl.dashboards.formats import Value
from stackctl.dashboards.timing import DEFAULT_SCRAPE
from stackctl.query import logql
from stackctl.query.prometheus import Sample
from stackctl.query.promql import try_parse
from stackctl.verify.client import Loki, Prometheus, QueryOutcome
from stackctl.verify.results import CheckResult

WORKERS = 8  # Prometheus answers small queries concurrently; verify is mostly waiting on it
# Whether a panel has data does not need every pixel Grafana draws: queries are evaluated at
# Grafana's step or range/CHECK_POINTS, whichever is coarser (the expressions keep Grafana's
# $__interval). A series present for longer than one such step is always found.
CHECK_POINTS = 200


@dataclass(frozen=True)
class ResolvedDashboard:
    dashboard: Dashboard
    panels: tuple[PanelInstance, ...]
    annotations: tuple[ResolvedAnnotation, ...]
    variables: Mapping[str, Value] = field(default_factory=dict)  # each variable as resolved (what the panels used)

    @property
    def title(self) -> str:
        return self.dashboard.title

    def prometheus_exprs(self) -> Iterable[tuple[str, str]]:
        """``(expr, who reads it)`` for every Prometheus query Grafana would run."""
        for inst in self.panels:
            for t in inst.targets:
                if t.kind == "prometheus" and not t.target.hidden and not t.problem:
                    yield t.expr, f"panel {self.title} / {inst.title}"
        for a in self.annotations:
            if a.annotation.datasource.type == "prometheus" and not a.problem:
                yield a.expr, f"annotation {self.title} / {a.annotation.name}"


class _Memo:
    """A variable Reader that asks Prometheus each distinct question once per verify run:
    dashboards of one exporter share their variables (``label_values(node_uname_info, instance)``)."""

    def __init__(self, prom: Prometheus) -> None:
        self.prom, self.seen = prom, dict[tuple[Any, ...], Any]()

    def _once(self, *key: Any) -> Any:
        if key not in self.seen:
            method, args = key[0], [list(a) if isinstance(a, tuple) else a for a in key[1:]]
            self.seen[key] = getattr(self.prom, method)(*args)
        return self.seen[key]

    def label_values(self, label: str, start: float, end: float, match: Sequence[str] = ()) -> list[str]:
        return list(self._once("label_values", label, start, end, tuple(match)))

    def label_names(self, start: float, end: float, match: Sequence[str] = ()) -> list[str]:
        return list(self._once("label_names", start, end, tuple(match)))

    def series(self, match: Sequence[str], start: float, end: float) -> list[dict[str, str]]:
        return list(self._once("series", tuple(match), start, end))

    def query(self, expr: str, time: float) -> tuple[list[Sample] | str | None, str | None]:
        return self._once("query", expr, time)


def resolve_dashboards(dashboards: Iterable[Dashboard], prom: Prometheus, now: float | None = None,
                       scrape: float = DEFAULT_SCRAPE) -> list[ResolvedDashboard]:
    """Variables resolved against ``prom``, panels expanded per repeat value."""
    now = time.time() if now is None else now
    reader = _Memo(prom)
    out = []
    for d in dashboards:
        r = Resolver(d, reader, now, scrape)
        out.append(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations()), dict(r.variables)))
    return out


Key = tuple[str, str, float, float, float]  # (kind, expr, start, end, step); step 0: an instant query at end
Outcomes = Mapping[Key, QueryOutcome]


def _key(t: ResolvedTarget | ResolvedAnnotation, kind: str, coarse: bool = True) -> Key:
    if kind == "prometheus" and isinstance(t, ResolvedTarget) and t.target.instant:
        return kind, t.expr, t.end, t.end, 0.0  # Grafana runs it once, at the end of the range
    step = max(t.step, (t.end - t.start) / CHECK_POINTS) if coarse else t.step
    return kind, t.expr, t.start, t.end, step


def _keys(t: ResolvedTarget, coarse: bool = True) -> list[Key]:
    """A target's query, and for a value filter (``count(x == 0)``) the query without the
    filter: it tells "no series passes the filter now" from "no series at all"."""
    key = _key(t, t.kind, coarse)
    found = _value_filter(t.expr) if t.kind == "prometheus" else None
    return [key, (key[0], found[0], *key[2:])] if found else [key]


_COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})


def _value_filter(expr: str) -> tuple[str, str] | None:
    """The first ``vector <cmp> number`` filter (no ``bool``) in ``expr``: (the whole expression
    without that filter, the filter as written), e.g. ``count(x == 0)`` -> (``count(x)``, ``== 0``)."""
    query = try_parse(expr)
    if query is None:
        return None
    found: list[tuple[Any, Any, str]] = []

    def walk(node: Any) -> None:
        if found or node is None:
            return
        if type(node).__name__ == "BinaryExpr" and str(node.op) in _COMPARISONS and not (node.modifier and node.modifier.return_bool):
            sides = [(node.lhs, node.rhs), (node.rhs, node.lhs)]
            for vector, number in sides:
                if type(number).__name__ == "NumberLiteral" and type(vector).__name__ != "NumberLiteral":
                    found.append((node, vector, f"{node.op} {number}"))
                    return
        for attr in ("expr", "lhs", "rhs", "param"):
            walk(getattr(node, attr, None))
        for arg in getattr(node, "args", None) or ():
            walk(arg)

    walk(query.node)
    if not found:
        return None
    node, vector, written = found[0]
    whole, part = str(query.node), str(node)
    return (whole.replace(part, str(vector), 1), written) if part in whole else None


def _run(key: Key, prom: Prometheus, loki: Loki | None) -> QueryOutcome:
    kind, expr, start, end, step = key
    if kind == "loki" and loki is not None:
        return loki.query_range(expr, start, end, step)
    if step == 0:
        return prom.query_instant(expr, end)
    return prom.query_range(expr, start, end, step)


def _runnable(inst: PanelInstance) -> list[ResolvedTarget]:
    return [t for t in inst.targets if not t.target.hidden and t.kind in ("prometheus", "loki") and t.target.expr.strip()]


def _check_panel(d: ResolvedDashboard, inst: PanelInstance, outcomes: Outcomes, loki: Loki | None, loki_skip: str | None,
                 coarse: bool = True) -> CheckResult:
    title = inst.title
    if inst.skip is not None:
        return CheckResult("panel", d.title, title, "", "skipped", inst.skip)
    runnable = _runnable(inst)
    lost = [t for t in runnable if t.target.datasource.not_found]
    if runnable and len(lost) == len(runnable):  # the queries are fine, but Grafana cannot send them anywhere
        name = lost[0].target.datasource.not_found
        return CheckResult("panel", d.title, title, _queries(lost), "error",
                           f"datasource {name!r} is not provisioned: Grafana shows \"Datasource {name} was not found\" "
                           "(name the stack's Prometheus, or a datasource variable, in the panel)")
    ran = [(t, outcomes[_key(t, t.kind, coarse)]) for t in runnable if t.kind == "prometheus" or loki is not None]
    if not ran:
        rejected = _rejected_logql(runnable)  # what Loki would refuse is said without Loki
        if rejected is not None:
            return CheckResult("panel", d.title, title, rejected[0], "error",
                               f"Loki would reject the query: {rejected[1]} (read without Loki)")
        return CheckResult("panel", d.title, title, _queries(runnable), "skipped", loki_skip or "Loki is not running")
    errors = [(t, o.error) for t, o in ran if o.error]
    if errors:
        t, err = errors[0]
        return CheckResult("panel", d.title, title, t.expr, "error", f"{t.kind} rejected the query: {err}")
    if any(o.samples for _, o in ran):
        # a variable without values is sent empty, as Grafana does: `cluster=""` still matches
        # the series without that label (a single-cluster kubernetes-mixin dashboard)
        caveat = f" ({inst.problem}; its empty value still matches)" if inst.problem else ""
        return CheckResult("panel", d.title, title, _queries(t for t, _ in ran), "populated",
                           f"{sum(o.series for _, o in ran)} series" + _not_run(inst) + caveat)
    if inst.problem is not None:  # the real reason the panel is empty
        return CheckResult("panel", d.title, title, _queries(t for t, _ in ran), "empty", inst.problem)
    if _reads_alerts_only(ran):  # a "firing alerts" stat: Grafana shows nothing (or its null mapping) while none is
        return CheckResult("panel", d.title, title, _queries(t for t, _ in ran), "ok",
                           "reads only ALERTS/ALERTS_FOR_STATE, which Prometheus writes while an alert is pending or "
                           "firing: none matches now (seed --state firing with the rule files to see it drawn)")
    unfiltered = _filtered_out(ran, outcomes, coarse)
    if unfiltered:  # `count(x == 0)`, `up == 0`: a panel that shows something only when it goes wrong
        return CheckResult("panel", d.title, title, _queries(t for t, _ in ran), "ok", unfiltered)
    if all(t.target.instant and t.kind == "prometheus" for t, _ in ran):
        return CheckResult("panel", d.title, title, _queries(t for t, _ in ran), "empty",
                           "no data at the end of the panel's time range (instant queries)")
    span = max(t.end - t.start for t, _ in ran)
    why = next((w for w in (_literal_regex(t) for t, _ in ran) if w), "")
    return CheckResult("panel", d.title, title, _queries(t for t, _ in ran), "empty",
                       f"no data over {_span(span)} (the panel's time range){why}")


# Series Prometheus' rule manager writes itself for its alerting rules (none while no alert is active)
RULE_MANAGER_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})


def _reads_alerts_only(ran: list[tuple[ResolvedTarget, QueryOutcome]]) -> bool:
    names = set()
    for t, _ in ran:
        parsed = try_parse(t.expr) if t.kind == "prometheus" else None
        if parsed is None:
            return False
        names |= set(parsed.metric_names)
    return bool(names) and names <= RULE_MANAGER_SERIES


_REGEX_VALUE = re.compile(r"\.\*|\.\+|^\(.*\|.*\)$")


def _literal_regex(t: ResolvedTarget) -> str:
    """Why an empty panel may stay empty whatever is seeded: an ``=`` matcher written around a
    variable (``instance='$instance'``) receives its regex-formatted value (All's ``.*``, several
    values as ``(a|b)``), which ``=`` compares literally; Grafana sends the same query."""
    query = try_parse(t.expr)
    for sel in query.selectors if query is not None else ():
        for m in sel.label_matchers:
            if m.op in ("=", "!=") and _REGEX_VALUE.search(m.value) and m.value not in t.target.expr:
                return (f"; {m.label}{m.op}{m.value!r} compares a variable's All/multi value literally: "
                        f"write {m.label}{'=~' if m.op == '=' else '!~'}... in the query")
    return ""


def _filtered_out(ran: list[tuple[ResolvedTarget, QueryOutcome]], outcomes: Outcomes, coarse: bool) -> str:
    """Why an empty panel is fine: each query filters by value, and without its filter it has
    series (Grafana shows "No data" / N/A until one passes)."""
    said = []
    for t, _ in ran:
        found = _value_filter(t.expr) if t.kind == "prometheus" else None
        key = _key(t, t.kind, coarse)
        outcome = outcomes.get((key[0], found[0], *key[2:])) if found else None
        if found is None or outcome is None or not outcome.samples:
            return ""
        said.append(f"{found[1]!r} keeps none of the {outcome.series} series")
    return "no data now, as designed: " + "; ".join(dict.fromkeys(said)) + " (Grafana shows no data until one passes)"


def _rejected_logql(targets: Iterable[ResolvedTarget]) -> tuple[str, str] | None:
    for t in targets:
        if t.kind == "loki" and t.expr.strip() and not t.problem:
            try:
                logql.parse(t.expr)
            except logql.LogQLError as exc:
                return t.expr, str(exc)
    return None


def _not_run(inst: PanelInstance) -> str:
    """A mixed panel's queries of other datasources, which were not run (said, not hidden)."""
    other = [t.kind for t in inst.targets if not t.target.hidden and t.kind not in ("prometheus", "loki")]
    return f"; {len(other)} {', '.join(sorted(set(other)))} quer{'y' if len(other) == 1 else 'ies'} not run" if other else ""


def check_panel(d: ResolvedDashboard, inst: PanelInstance, prom: Prometheus, loki: Loki | None, loki_skip: str | None = None) -> CheckResult:
    """One panel copy's verdict, its queries sent now at Grafana's own step (``stackctl report``
    draws the query results it judged)."""
    keys = [] if inst.skip else [
        k for t in _runnable(inst) if t.kind == "prometheus" or loki is not None for k in _keys(t, coarse=False)]
    outcomes = {k: _run(k, prom, loki) for k in dict.fromkeys(keys)}
    return _check_panel(d, inst, outcomes, loki, loki_skip, coarse=False)


def _check_annotation(d: ResolvedDashboard, a: ResolvedAnnotation, outcomes: Outcomes, loki: Loki | None, loki_skip: str | None) -> CheckResult:
    name, kind = f"annotation {a.annotation.name}", a.annotation.datasource.type
    if kind == "loki" and loki is None:
        return CheckResult("annotation", d.title, name, a.expr, "skipped", loki_skip or "Loki is not running")
    outcome = outcomes[_key(a, kind)]
    if outcome.error:
        return CheckResult("annotation", d.title, name, a.expr, "error", f"{kind} rejected the query: {outcome.error}")
    if outcome.samples:
        return CheckResult("annotation", d.title, name, a.expr, "populated", f"{outcome.series} series")
    if a.problem is not None:
        return CheckResult("annotation", d.title, name, a.expr, "empty", a.problem)
    return CheckResult("annotation", d.title, name, a.expr, "ok", "the query runs; no events over the range")


def _span(seconds: float) -> str:
    return f"{seconds / 3600:.0f}h" if seconds >= 7200 else f"{seconds / 60:.0f}m"


def _queries(targets: Iterable[ResolvedTarget]) -> str:
    return "\n".join(dict.fromkeys(t.expr for t in targets))


def _queries_to_run(resolved: list[ResolvedDashboard], loki: Loki | None) -> list[Key]:
    """Every distinct query to send: panels often share one (same expression, range, step)."""
    keys: dict[Key, None] = {}
    for d in resolved:
        for inst in d.panels:
            if inst.skip is None:
                keys.update((k, None) for t in _runnable(inst) if t.kind == "prometheus" or loki is not None for k in _keys(t))
        for a in d.annotations:
            kind = a.annotation.datasource.type
            if kind == "prometheus" or loki is not None:
                keys[_key(a, kind)] = None
    return list(keys)


def check_resolved(resolved: list[ResolvedDashboard], prom: Prometheus, loki: Loki | None, loki_skip: str | None = None,
                   progress: Callable[[str], None] = lambda _m: None) -> list[CheckResult]:
    """One result per panel copy and annotation; each distinct query is sent once, concurrently."""
    keys = _queries_to_run(resolved, loki)
    progress(f"checking {sum(len(d.panels) for d in resolved)} panels of {len(resolved)} dashboards ({len(keys)} queries)")
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = dict(zip(keys, pool.map(lambda k: _run(k, prom, loki), keys)))
    results = []
    for d in resolved:
        if not d.panels:  # say so: "0 panels checked, every check passed" hides a misread layout
            raw = d.dashboard.raw
            wrapped = isinstance(raw.get("dashboard"), dict) and "title" not in raw  # an API export: its error says why
            results.append(CheckResult("dashboard", d.title, "(no panels)", "", "skipped",
                                       "Grafana does not load an API export ({\"dashboard\": ...}): no panels to check"
                                       if wrapped else "the dashboard has no panels"))
        results += [_check_panel(d, p, outcomes, loki, loki_skip) for p in d.panels]
        results += [_check_annotation(d, a, outcomes, loki, loki_skip) for a in d.annotations]
    return results


def run_queries(resolved: list[ResolvedDashboard], prom: Prometheus, loki: Loki | None) -> dict[Key, QueryOutcome]:
    """Every distinct query of ``resolved``, each sent once, concurrently: the outcomes the
    checks judge (``stackctl report`` draws their ``result``)."""
    keys = _queries_to_run(resolved, loki)
    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(keys, pool.map(lambda k: _run(k, prom, loki), keys)))


def judge_panel(d: ResolvedDashboard, inst: PanelInstance, outcomes: Outcomes, loki: Loki | None, loki_skip: str | None = None) -> CheckResult:
    """One panel copy's verdict from ``run_queries``' outcomes: exactly what ``stackctl verify``
    reports for it (same queries, same step)."""
    return _check_panel(d, inst, outcomes, loki, loki_skip)


def target_outcome(t: ResolvedTarget | ResolvedAnnotation, outcomes: Outcomes) -> QueryOutcome | None:
    """What a panel target's (or an annotation's) query returned, when it was run."""
    kind = t.kind if isinstance(t, ResolvedTarget) else t.annotation.datasource.type
    return outcomes.get(_key(t, kind))


def check_dashboards(dashboards: list[Dashboard], prom: Prometheus, loki: Loki | None, loki_skip: str | None = None,
                     progress: Callable[[str], None] = lambda _m: None, now: float | None = None,
                     scrape: float = DEFAULT_SCRAPE) -> list[CheckResult]:
    """Resolve and check: one result per panel copy and per annotation query."""
    return check_resolved(resolve_dashboards(dashboards, prom, now, scrape), prom, loki, loki_skip, progress)
