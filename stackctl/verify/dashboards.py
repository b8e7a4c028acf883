"""Dashboard checks: every panel copy Grafana would show, every annotation query, against the stack.

Per panel copy (a repeated panel once per value of its variable): ``populated`` when a query
returned data; ``error`` with Prometheus' (or Loki's) message when one was rejected; ``empty``
when none returned data, or when a variable it uses has no values (the detail says why: "variable
`instance` has no values: no series of `node_uname_info`"); ``skipped`` with the reason when its
queries cannot run here (a PostgreSQL panel, a library panel not in the file, a text panel, Loki
not running). Annotation queries run over the dashboard's range: an error fails, no events is ok.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

from stackctl.dashboards import Dashboard, PanelInstance, ResolvedAnnotation, ResolvedTarget, Resolver
from stackctl.dashboards.timing import DEFAULT_SCRAPE
from stackctl.verify.client import Loki, Prometheus, QueryOutcome
from stackctl.verify.results import CheckResult

WORKERS = 8  # Prometheus answers small queries concurrently; verify is mostly waiting on it


@dataclass(frozen=True)
class ResolvedDashboard:
    dashboard: Dashboard
    panels: tuple[PanelInstance, ...]
    annotations: tuple[ResolvedAnnotation, ...]

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


def resolve_dashboards(dashboards: Iterable[Dashboard], prom: Prometheus, now: float | None = None,
                       scrape: float = DEFAULT_SCRAPE) -> list[ResolvedDashboard]:
    """Variables resolved against ``prom``, panels expanded per repeat value."""
    now = time.time() if now is None else now
    out = []
    for d in dashboards:
        r = Resolver(d, prom, now, scrape)
        out.append(ResolvedDashboard(d, tuple(r.panels()), tuple(r.annotations())))
    return out


def _run(t: ResolvedTarget | ResolvedAnnotation, kind: str, prom: Prometheus, loki: Loki | None) -> QueryOutcome:
    if kind == "loki" and loki is not None:
        return loki.query_range(t.expr, t.start, t.end, t.step)
    return prom.query_range(t.expr, t.start, t.end, t.step)


def _check_panel(d: ResolvedDashboard, inst: PanelInstance, prom: Prometheus, loki: Loki | None, loki_skip: str | None) -> CheckResult:
    title = inst.title
    if inst.skip is not None:
        return CheckResult("panel", d.title, title, "", "skipped", inst.skip)
    runnable = [t for t in inst.targets if not t.target.hidden and t.kind in ("prometheus", "loki") and t.target.expr.strip()]
    if inst.problem is not None:
        return CheckResult("panel", d.title, title, _queries(runnable), "empty", inst.problem)
    ran = [(t, _run(t, t.kind, prom, loki)) for t in runnable if t.kind == "prometheus" or loki is not None]
    if not ran:
        return CheckResult("panel", d.title, title, _queries(runnable), "skipped", loki_skip or "Loki is not running")
    errors = [(t, o.error) for t, o in ran if o.error]
    if errors:
        t, err = errors[0]
        return CheckResult("panel", d.title, title, t.expr, "error", f"{t.kind} rejected the query: {err}")
    if any(o.samples for _, o in ran):
        return CheckResult("panel", d.title, title, _queries(t for t, _ in ran), "populated", f"{sum(o.series for _, o in ran)} series")
    span = max(t.end - t.start for t, _ in ran)
    return CheckResult("panel", d.title, title, _queries(t for t, _ in ran), "empty", f"no data over {_span(span)} (the panel's time range)")


def _check_annotation(d: ResolvedDashboard, a: ResolvedAnnotation, prom: Prometheus, loki: Loki | None, loki_skip: str | None) -> CheckResult:
    name, kind = f"annotation {a.annotation.name}", a.annotation.datasource.type
    if a.problem is not None:
        return CheckResult("annotation", d.title, name, a.expr, "empty", a.problem)
    if kind == "loki" and loki is None:
        return CheckResult("annotation", d.title, name, a.expr, "skipped", loki_skip or "Loki is not running")
    outcome = _run(a, kind, prom, loki)
    if outcome.error:
        return CheckResult("annotation", d.title, name, a.expr, "error", f"{kind} rejected the query: {outcome.error}")
    if outcome.samples:
        return CheckResult("annotation", d.title, name, a.expr, "populated", f"{outcome.series} series")
    return CheckResult("annotation", d.title, name, a.expr, "ok", "the query runs; no events over the range")


def _span(seconds: float) -> str:
    return f"{seconds / 3600:.0f}h" if seconds >= 7200 else f"{seconds / 60:.0f}m"


def _queries(targets: Iterable[ResolvedTarget]) -> str:
    return "\n".join(dict.fromkeys(t.expr for t in targets))


def check_resolved(resolved: list[ResolvedDashboard], prom: Prometheus, loki: Loki | None, loki_skip: str | None = None,
                   progress: Callable[[str], None] = lambda _m: None) -> list[CheckResult]:
    jobs: list[Callable[[], CheckResult]] = []
    for d in resolved:
        jobs += [lambda d=d, p=p: _check_panel(d, p, prom, loki, loki_skip) for p in d.panels]  # type: ignore[misc]
        jobs += [lambda d=d, a=a: _check_annotation(d, a, prom, loki, loki_skip) for a in d.annotations]  # type: ignore[misc]
    progress(f"checking {sum(len(d.panels) for d in resolved)} panels of {len(resolved)} dashboards")
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda job: job(), jobs))


def check_dashboards(dashboards: list[Dashboard], prom: Prometheus, loki: Loki | None, loki_skip: str | None = None,
                     progress: Callable[[str], None] = lambda _m: None, now: float | None = None,
                     scrape: float = DEFAULT_SCRAPE) -> list[CheckResult]:
    """Resolve and check: one result per panel copy and per annotation query."""
    return check_resolved(resolve_dashboards(dashboards, prom, now, scrape), prom, loki, loki_skip, progress)
