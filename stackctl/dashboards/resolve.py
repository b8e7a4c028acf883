"""A dashboard's queries as Grafana would send them: per panel, per repeat value, per target.

``Resolver(dashboard, reader, now)`` resolves the variables (against Prometheus when ``reader``
is given, else from their saved state), then :meth:`Resolver.panels` yields one
:class:`PanelInstance` per panel and per value of the variables it (or its row) repeats over,
each with its :class:`ResolvedTarget`\\ s: the expression with variables and ``$__interval`` /
``$__rate_interval`` / ``$__range`` / ``$__auto`` substituted, the query's time range and step.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Iterator, Mapping

from stackctl.dashboards.formats import Value, interpolate, names_in
from stackctl.dashboards.model import STACK_TYPES, Annotation, Dashboard, Panel, Target
from stackctl.dashboards.timing import (DEFAULT_SCRAPE, TimeRange, macros, max_data_points, panel_range,
                                         parse_duration, query_interval)
from stackctl.dashboards.variables import Reader, resolve_variables

MAX_REPEATS = 50  # a repeat over hundreds of values: the first ones say enough


@dataclass(frozen=True)
class ResolvedTarget:
    """``expr`` is what Grafana sends; ``start``/``end``/``step`` the query's range (seconds);
    ``problem`` is set (and ``expr`` left partly unresolved) when a variable has no values."""

    panel: Panel
    target: Target
    expr: str
    start: float
    end: float
    step: float
    scope: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None

    @property
    def kind(self) -> str:
        return self.target.kind


@dataclass(frozen=True)
class PanelInstance:
    """One panel as shown: ``scope`` maps the repeat variables to this copy's value."""

    panel: Panel
    scope: Mapping[str, str]
    targets: tuple[ResolvedTarget, ...]
    skip: str | None = None  # why its queries are not run (see Panel.skip_reason)
    problem: str | None = None  # a variable it uses has no values

    @property
    def title(self) -> str:
        suffix = ", ".join(f"{k}={v}" for k, v in self.scope.items())
        return f"{self.panel.title} ({suffix})" if suffix else self.panel.title


@dataclass(frozen=True)
class ResolvedAnnotation:
    annotation: Annotation
    expr: str
    start: float
    end: float
    step: float
    problem: str | None = None


class Resolver:
    """Resolves one dashboard. ``types``: the datasource types the stack runs; ``scrape``: the
    Prometheus datasource's ``timeInterval``; ``time_range`` overrides the dashboard's."""

    def __init__(self, dashboard: Dashboard, reader: Reader | None = None, now: float | None = None,
                 scrape: float = DEFAULT_SCRAPE, time_range: TimeRange | None = None,
                 types: frozenset[str] = STACK_TYPES) -> None:
        self.dashboard, self.reader, self.scrape, self.types = dashboard, reader, scrape, types
        now = time.time() if now is None else now
        self.time_range = time_range or TimeRange.parse(dashboard.time_from, dashboard.time_to, now)
        self._variables: dict[str, Value] | None = None

    @property
    def variables(self) -> dict[str, Value]:
        """Each variable's selection (resolved on first use)."""
        if self._variables is None:
            base = macros(self.time_range, self.scrape, self.scrape)
            self._variables = resolve_variables(self.dashboard, self.reader, self.time_range, base)
        return self._variables

    def _duration(self, text: str | None) -> float | None:
        """A min interval as written (``1m``, ``>10s``) or through a variable (``$interval``)."""
        if not text:
            return None
        return parse_duration(self.interpolate(text)[0] if "$" in text else text)

    def step(self, panel: Panel, target: Target, tr: TimeRange) -> float:
        """Grafana's step: the calculated interval times the target's ``intervalFactor``."""
        minimum = self._duration(target.interval) or self._duration(panel.interval) or self.scrape
        factor = target.raw.get("intervalFactor")
        factor = factor if isinstance(factor, (int, float)) and factor > 0 else 1
        return query_interval(tr, max_data_points(panel.max_data_points, panel.width), minimum) * factor

    def interpolate(self, text: str, scope: Mapping[str, Value] | None = None, tr: TimeRange | None = None,
                    step: float | None = None, instant: bool = False, scrape: float | None = None) -> tuple[str, str | None]:
        """``text`` resolved, and the first "variable has no values" problem it hits."""
        tr = tr or self.time_range
        values = {**self.variables, **(scope or {})}
        used = [values[n] for n in names_in(text) if n in values]
        problem = next((v.reason for v in used if v.reason), None)
        builtins = {k: Value((x,)) for k, x in macros(tr, step or self.scrape, scrape or self.scrape, instant).items()}
        return interpolate(text, {**builtins, **values}), problem

    def _scopes(self, panel: Panel) -> tuple[list[dict[str, Value]], str | None]:
        scopes: list[dict[str, Value]] = [{}]
        for name in panel.repeats_over:
            value = self.variables.get(name)
            if value is None:
                continue
            if value.reason:
                return [{}], value.reason
            # a copy sees one value, still formatted as the (multi-value) variable it is: Grafana
            # regex-escapes it for Prometheus
            each = [Value((x,), (t,), value.multi) for x, t in itertools.zip_longest(value.values, value.texts, fillvalue="")][:MAX_REPEATS]
            scopes = [{**s, name: v} for s, v in itertools.product(scopes, each or [value])]
        return scopes, None

    def panels(self) -> Iterator[PanelInstance]:
        """Every panel copy Grafana shows, with its resolved targets (hidden ones included,
        marked by ``target.hidden``); skipped panels come with ``skip`` and no targets."""
        for panel in self.dashboard.panels:
            skip = panel.skip_reason(self.types)
            if skip is not None:
                yield PanelInstance(panel, {}, (), skip)
                continue
            scopes, problem = self._scopes(panel)
            for scope in scopes:
                targets = tuple(self._target(panel, t, scope) for t in panel.targets)
                first = problem or next((t.problem for t in targets if t.problem and not t.target.hidden), None)
                yield PanelInstance(panel, {k: v.values[0] if v.values else "" for k, v in scope.items()}, targets, None, first)

    def _target(self, panel: Panel, target: Target, scope: dict[str, Value]) -> ResolvedTarget:
        tr = panel_range(self.time_range, panel.time_from, panel.time_shift)
        step = self.step(panel, target, tr)
        scrape = self._duration(target.interval) or self.scrape
        expr, problem = self.interpolate(target.expr, scope, tr, step, target.instant, scrape)
        return ResolvedTarget(panel, target, expr, tr.start, tr.end, step,
                              {k: v.values[0] if v.values else "" for k, v in scope.items()}, problem)

    def targets(self) -> Iterator[ResolvedTarget]:
        """Every resolved target of every panel copy that is not skipped."""
        for instance in self.panels():
            yield from instance.targets

    def annotations(self) -> Iterator[ResolvedAnnotation]:
        """Enabled annotation queries of the stack's datasources (Grafana's built-in one excluded)."""
        for a in self.dashboard.annotations:
            if a.builtin or not a.enabled or not a.expr.strip() or a.datasource.type not in self.types:
                continue
            step = max(parse_duration(a.step) or 60.0, self.scrape)
            expr, problem = self.interpolate(a.expr, None, self.time_range, step)
            yield ResolvedAnnotation(a, expr, self.time_range.start, self.time_range.end, step, problem)
