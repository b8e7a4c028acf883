"""PromQL read through ``promql-parser`` (the Rust parser, same grammar as Prometheus).

``parse(expr)`` returns a :class:`Query`: every selector in the expression with the path of what
is applied to it (functions, aggregations with their ``by``/``without`` labels, binary operators
with ``on``/``ignoring``/``group_left`` and a literal threshold on the other side), the vector
joins, and :meth:`Query.missing`, which decides which absent metrics change the result with
set-operator semantics: ``a or b`` needs one side, ``a unless b`` does not need ``b``,
``absent(x)`` expects ``x`` to be missing.

Consumers: verify (metric existence), seeding (what series a query needs and of which type:
``rate(x[5m])`` reads a counter, ``histogram_quantile(.., x_bucket)`` a histogram) and the
dashboard renderer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any, Callable, Iterable, Literal

import promql_parser as pp

# Selectors inside these are expected to be missing: no data is what they test for.
ABSENCE_FUNCTIONS = frozenset({"absent", "absent_over_time"})
# Series Prometheus itself writes while alerts are active; absent when nothing fires, not a typo.
BUILTIN_METRICS = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
SET_OPERATORS = frozenset({"and", "or", "unless"})
COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
# Functions whose input is a counter: seeding writes a monotonic series for what they read.
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})

StepKind = Literal["function", "aggregation", "binary", "subquery", "unary"]


class PromQLError(ValueError):
    """The expression is not valid PromQL; ``str()`` is the parser's message."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str

    def matches(self, value: str | None) -> bool:
        """Prometheus semantics: a missing label is the empty string; regexes are anchored."""
        v = value or ""
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = _fullmatch(self.value, v)
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.label}{self.op}"{_quote(self.value)}"'


@dataclass(frozen=True)
class Selector:
    """One vector selector: ``name`` is the exact metric name (``x`` or ``{__name__="x"}``),
    None when the name is only matched (``{__name__=~"http_.*"}``, kept in ``matchers``)."""

    name: str | None
    matchers: tuple[Matcher, ...] = ()
    range: float | None = None  # seconds: ``x[5m]`` -> 300
    offset: float | None = None

    @property
    def label_matchers(self) -> tuple[Matcher, ...]:
        return tuple(m for m in self.matchers if m.label != "__name__")

    def matches_name(self, name: str) -> bool:
        if self.name is not None:
            return name == self.name
        name_matchers = [m for m in self.matchers if m.label == "__name__"]
        return bool(name_matchers) and all(m.matches(name) for m in name_matchers)

    def exists_in(self, known: Iterable[str]) -> bool:
        """Whether a metric of that name is among ``known`` (``ALERTS`` always is)."""
        if self.name is not None:
            return self.name in BUILTIN_METRICS or self.name in known
        return any(self.matches_name(n) for n in known)

    def matches(self, known: Iterable[str]) -> bool:  # the old name, kept for callers
        return self.exists_in(known)

    def __str__(self) -> str:
        if self.name is None:
            return "{" + ",".join(str(m) for m in self.matchers) + "}"
        return self.name + ("{" + ",".join(str(m) for m in self.matchers) + "}" if self.matchers else "")


@dataclass(frozen=True)
class Step:
    """One level of what is applied to a selector, from the selector upwards.

    ``kind`` function: ``name`` is the function, ``argument`` the selector's argument index,
    ``param`` a literal first argument (``histogram_quantile(0.95, ...)`` -> 0.95).
    ``kind`` aggregation: ``name`` is the operator, ``labels`` its ``by`` (or, with
    ``without=True``, ``without``) labels, ``param`` ``topk``'s k or ``quantile``'s q.
    ``kind`` binary: ``name`` is the operator (``+``, ``>``, ``and``...), ``side`` which side the
    selector is on, ``other`` the number literal on the other side (a threshold), ``matching``
    whether ``on``/``ignoring`` was written, ``labels``/``without`` its labels (``ignoring`` is
    ``without=True``), ``group`` ``left``/``right`` with ``group_labels``, ``return_bool`` the ``bool`` modifier.
    """

    kind: StepKind
    name: str
    labels: tuple[str, ...] = ()
    without: bool = False
    param: float | str | None = None
    argument: int = 0
    side: Literal["lhs", "rhs"] | None = None
    other: float | None = None
    matching: bool = False
    group: Literal["left", "right"] | None = None
    group_labels: tuple[str, ...] = ()
    return_bool: bool = False

    @property
    def is_comparison(self) -> bool:
        return self.kind == "binary" and self.name in COMPARISONS


@dataclass(frozen=True)
class Use:
    """A selector in its context: ``path`` holds what is applied to it, innermost first."""

    selector: Selector
    path: tuple[Step, ...] = ()

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.path if s.kind == "function")

    @property
    def absent(self) -> bool:
        """Inside ``absent()``/``absent_over_time()``: the query expects it missing."""
        return any(f in ABSENCE_FUNCTIONS for f in self.functions)

    @property
    def as_counter(self) -> bool:
        """Read through ``rate``/``increase``/``irate``/``resets`` directly."""
        return bool(self.path) and self.path[0].kind == "function" and self.path[0].name in COUNTER_FUNCTIONS

    @property
    def as_histogram(self) -> bool:
        """A ``_bucket`` series under ``histogram_quantile`` (at any depth)."""
        return "histogram_quantile" in self.functions

    def first(self, kind: StepKind, name: str | None = None) -> Step | None:
        return next((s for s in self.path if s.kind == kind and (name is None or s.name == name)), None)

    @property
    def grouping(self) -> tuple[str, ...]:
        """Labels the innermost ``by`` aggregation keeps (``without`` ones are not listed)."""
        agg = self.first("aggregation")
        return agg.labels if agg is not None and not agg.without else ()

    @property
    def thresholds(self) -> tuple[tuple[str, float], ...]:
        """``(operator, number)`` of every comparison with a literal: ``x > 0.5`` -> ``(">", 0.5)``,
        written from the selector's side (``0.5 < x`` is also ``(">", 0.5)``)."""
        out = []
        for s in self.path:
            if s.is_comparison and s.other is not None:
                out.append((s.name if s.side == "lhs" else _FLIP[s.name], s.other))
        return tuple(out)


@dataclass(frozen=True)
class Join:
    """A binary operator between two vector expressions, with its vector matching."""

    op: str
    lhs: tuple[Selector, ...]
    rhs: tuple[Selector, ...]
    on: tuple[str, ...] | None = None  # on(...) labels; None when not written
    ignoring: tuple[str, ...] | None = None
    group: Literal["left", "right"] | None = None
    group_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    expr: str
    uses: tuple[Use, ...] = ()
    joins: tuple[Join, ...] = ()
    node: Any = field(default=None, repr=False, compare=False)  # the promql_parser AST

    @property
    def selectors(self) -> list[Selector]:
        """Every selector, in order, without duplicates."""
        return list(dict.fromkeys(u.selector for u in self.uses))

    @property
    def metric_names(self) -> list[str]:
        """Exact metric names (selectors matching names by regex are left out)."""
        return list(dict.fromkeys(u.selector.name for u in self.uses if u.selector.name))

    def missing(self, exists: Callable[[Selector], bool]) -> list[Selector]:
        """The selectors whose absence empties the result (set-operator semantics)."""
        return list(dict.fromkeys(_missing(self.node, exists)))


_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}
_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _fullmatch(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    return bool(compiled and compiled.fullmatch(value))


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _seconds(value: Any) -> float | None:
    return value.total_seconds() if isinstance(value, timedelta) else None


def _matcher(m: Any) -> Matcher:
    return Matcher(str(m.name), _OPS[str(m.op).rsplit(".", 1)[-1]], str(m.value))


def _selector(vs: Any, range_: float | None = None) -> Selector:
    ms = vs.matchers
    matchers = [_matcher(m) for m in ms.matchers]
    for group in ms.or_matchers or []:  # x{a="1" or b="2"}: every alternative's matchers
        matchers += [_matcher(m) for m in group]
    name = vs.name
    if not name:
        exact = [m for m in matchers if m.label == "__name__" and m.op == "="]
        if exact:
            name = exact[0].value
            matchers = [m for m in matchers if m is not exact[0]]
    return Selector(name or None, tuple(matchers), range_, _seconds(vs.offset))


def _literal(node: Any) -> float | str | None:
    if isinstance(node, pp.NumberLiteral):
        return float(node.val)
    if isinstance(node, pp.StringLiteral):
        return str(node.val)
    if isinstance(node, pp.ParenExpr):
        return _literal(node.expr)
    if isinstance(node, pp.UnaryExpr):
        inner = _literal(node.expr)
        return -inner if isinstance(inner, float) else None
    return None


def _labels(modifier: Any) -> tuple[tuple[str, ...], bool]:
    if modifier is None:
        return (), False
    return tuple(modifier.labels or ()), str(modifier.type).endswith("Without")


def _binary_step(node: Any, side: Literal["lhs", "rhs"]) -> Step:
    other = _literal(node.rhs if side == "lhs" else node.lhs)
    mod = node.modifier
    matching = mod.matching if mod is not None else None
    card = str(mod.card).rsplit(".", 1)[-1] if mod is not None else ""
    group: Literal["left", "right"] | None = "left" if card == "ManyToOne" else "right" if card == "OneToMany" else None
    return Step("binary", str(node.op), labels=tuple(matching.labels or ()) if matching is not None else (),
                without=matching is not None and str(matching.type).endswith("Exclude"), side=side,
                other=other if isinstance(other, float) else None, matching=matching is not None,
                group=group, group_labels=tuple(mod.group_labels or ()) if mod is not None else (),
                return_bool=bool(mod.return_bool) if mod is not None else False)


def _walk(node: Any, path: tuple[Step, ...], uses: list[Use], joins: list[Join]) -> None:
    if isinstance(node, pp.VectorSelector):
        uses.append(Use(_selector(node), path))
    elif isinstance(node, pp.MatrixSelector):
        uses.append(Use(_selector(node.vector_selector, _seconds(node.range)), path))
    elif isinstance(node, pp.Call):
        name = str(node.func.name)
        param = _literal(node.args[0]) if node.args else None
        for i, arg in enumerate(node.args):
            _walk(arg, (Step("function", name, param=param, argument=i), *path), uses, joins)
    elif isinstance(node, pp.AggregateExpr):
        labels, without = _labels(node.modifier)
        param = _literal(node.param) if node.param is not None else None
        _walk(node.expr, (Step("aggregation", str(node.op), labels, without, param), *path), uses, joins)
    elif isinstance(node, pp.BinaryExpr):
        _walk_binary(node, path, uses, joins)
    elif isinstance(node, pp.SubqueryExpr):
        _walk(node.expr, (Step("subquery", "subquery", param=_seconds(node.range)), *path), uses, joins)
    elif isinstance(node, pp.UnaryExpr):
        _walk(node.expr, (Step("unary", "-"), *path), uses, joins)
    elif isinstance(node, pp.ParenExpr):
        _walk(node.expr, path, uses, joins)


def _walk_binary(node: Any, path: tuple[Step, ...], uses: list[Use], joins: list[Join]) -> None:
    before = len(uses)
    _walk(node.lhs, (_binary_step(node, "lhs"), *path), uses, joins)
    middle = len(uses)
    _walk(node.rhs, (_binary_step(node, "rhs"), *path), uses, joins)
    lhs = tuple(dict.fromkeys(u.selector for u in uses[before:middle]))
    rhs = tuple(dict.fromkeys(u.selector for u in uses[middle:]))
    if lhs and rhs:
        step = _binary_step(node, "lhs")
        on = step.labels if step.matching and not step.without else None
        ignoring = step.labels if step.matching and step.without else None
        joins.append(Join(step.name, lhs, rhs, on, ignoring, step.group, step.group_labels))


def _missing(node: Any, exists: Callable[[Selector], bool]) -> list[Selector]:
    if isinstance(node, (pp.VectorSelector, pp.MatrixSelector)):
        sel = _selector(node.vector_selector, _seconds(node.range)) if isinstance(node, pp.MatrixSelector) else _selector(node)
        return [] if (sel.name in BUILTIN_METRICS or exists(sel)) else [sel]
    if isinstance(node, pp.Call):
        if str(node.func.name) in ABSENCE_FUNCTIONS:
            return []
        return [s for arg in node.args for s in _missing(arg, exists)]
    if isinstance(node, pp.BinaryExpr):
        op = str(node.op)
        lhs, rhs = _missing(node.lhs, exists), _missing(node.rhs, exists)
        if op == "or":
            return [] if not lhs or not rhs else lhs + rhs  # one present side is enough
        if op == "unless":
            return lhs  # `x unless y` has data without y: y missing only removes nothing
        return lhs + rhs
    for attr in ("expr",):
        inner = getattr(node, attr, None)
        if inner is not None and not isinstance(node, (pp.NumberLiteral, pp.StringLiteral)):
            return _missing(inner, exists)
    return []


def ast(expr: str) -> Any:
    """The ``promql_parser`` AST of ``expr``; :class:`PromQLError` when it does not parse."""
    try:
        return pp.parse(expr)
    except (ValueError, TypeError) as exc:
        raise PromQLError(str(exc)) from None


@lru_cache(maxsize=8192)
def parse(expr: str) -> Query:
    """The :class:`Query` of ``expr`` (cached: dashboards repeat expressions across panels)."""
    node = ast(expr)
    uses: list[Use] = []
    joins: list[Join] = []
    _walk(node, (), uses, joins)
    return Query(expr, tuple(uses), tuple(joins), node)


def try_parse(expr: str) -> Query | None:
    try:
        return parse(expr)
    except PromQLError:
        return None


def selectors(expr: str) -> list[Selector]:
    """Every selector the expression reads, in order, without duplicates."""
    return parse(expr).selectors


def metric_names(expr: str) -> list[str]:
    """The exact metric names (regex ``__name__`` matchers left out)."""
    return parse(expr).metric_names


def missing_selectors(expr: str, known: Iterable[str] | Callable[[Selector], bool]) -> list[Selector]:
    """The selectors whose metric does not exist and whose absence changes the result.
    ``known`` is a set of existing metric names, or a predicate on selectors."""
    if callable(known):
        return parse(expr).missing(known)
    names = known if isinstance(known, (set, frozenset)) else frozenset(known)
    return parse(expr).missing(lambda s: s.exists_in(names))
