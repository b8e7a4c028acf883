"""What one PromQL expression asks of the data: selector uses, joins, label names.

The walk runs over the ``promql-parser`` AST (never over text). Each vector selector becomes a
``Use``: the metric, its matchers, the functions around it that tell its type (``rate`` ->
counter, ``histogram_quantile`` -> histogram) and the label names the operators above it need
(``by``, ``on``, ``group_left``). Binary operators between two vectors become ``Join`` records,
so label sets can be made consistent across the metrics a query joins.

Dashboard text holds Grafana variables the parser cannot read; ``substitute`` replaces them:
inside a quoted matcher value by a sentinel the walk turns into "any value of this variable",
inside a range by a duration, elsewhere by the variable's value or ``1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import promql_parser as pp

from stackctl.query import promql

VAR_SENTINEL = "__stackctl_var_{}__"
_SENTINEL = re.compile(r"__stackctl_var_(\w+?)__")
_VAR = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)(?::[\w]+)?\]\]|\$(\w+)")
_RANGE_MACROS = ("__rate_interval", "__interval", "__range", "__auto", "__auto_interval")
COUNTER_FUNCS = frozenset({"rate", "irate", "increase", "resets"})
_SCALAR_FUNCS = frozenset({"time", "vector", "scalar", "pi", "day_of_month", "day_of_week", "hour", "minute",
                           "month", "year", "days_in_month", "day_of_year"})


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str
    var: str | None = None  # the dashboard variable the value comes from

    def matches(self, value: str) -> bool:
        if self.var is not None:
            return True
        if self.op in ("=", "!="):
            return (value == self.value) == (self.op == "=")
        try:
            hit = re.fullmatch(self.value, value) is not None
        except re.error:
            return True
        return hit == (self.op == "=~")


@dataclass(frozen=True)
class Use:
    """One vector selector of one query."""

    metric: str
    matchers: tuple[Matcher, ...]
    counter: bool  # under rate/irate/increase
    quantile: bool  # under histogram_quantile
    info: bool  # the "one" side of a group_left/group_right join
    labels: frozenset[str]  # label names the operators above need
    absent: bool = False  # under absent()/absent_over_time(): its absence is the point
    carried: frozenset[str] = frozenset()  # labels a group_left copies from this (info) side
    boolean: bool = False  # compared with == 0 / == 1: a 0/1 state
    steady: bool = False  # under changes()/deriv()/delta(): sample-to-sample noise would be read as a change
    above: tuple[float, ...] = ()  # thresholds a histogram_quantile over it is compared with (> 40)
    unique: tuple[str, ...] | None = None  # the "one" side of `+ on(x) group_left`: one series per x


@dataclass(frozen=True)
class Join:
    """A binary operator between two vectors whose label sets must line up."""

    left: frozenset[str]
    right: frozenset[str]
    on: tuple[str, ...] | None  # on(...) labels; None: all labels (or ignoring)
    ignoring: tuple[str, ...] = ()


@dataclass
class Walk:
    uses: list[Use] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)


STEADY_FUNCS = frozenset({"changes", "deriv", "delta", "idelta", "resets"})


@dataclass(frozen=True)
class _Ctx:
    counter: bool = False
    quantile: bool = False
    info: bool = False
    absent: bool = False
    labels: frozenset[str] = frozenset()
    carried: frozenset[str] = frozenset()
    boolean: bool = False
    steady: bool = False
    above: tuple[float, ...] = ()
    unique: tuple[str, ...] | None = None

    def but(self, **kw: Any) -> _Ctx:
        return _Ctx(**{**self.__dict__, **kw})


@dataclass(frozen=True)
class _Side:
    metrics: frozenset[str]
    raw: bool  # still carries the selectors' own label sets (no by() aggregation)
    dropped: frozenset[str] = frozenset()  # labels a without() took away


def substitute(expr: str, values: Mapping[str, str] | None = None) -> str:
    """Grafana variables and macros -> text the PromQL parser reads (see module doc).

    ``values``: the static variables' values (custom, constant, textbox, interval); several
    selected values are joined with ``|``, used whole after ``=~``/``!~`` and first after ``=``."""
    values = values or {}
    out: list[str] = []
    quote, regex_ctx, depth = "", False, 0
    i = 0
    while i < len(expr):
        ch = expr[i]
        m = _VAR.match(expr, i) if ch in "$[" else None
        if m and (ch == "$" or m.group(2)):
            name = m.group(1) or m.group(2) or m.group(3)
            out.append(_replacement(name, quote, regex_ctx, depth, values))
            i = m.end()
            continue
        if quote:
            if ch == "\\" and i + 1 < len(expr):
                out.append(expr[i:i + 2])
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote, regex_ctx = ch, "".join(out[-3:]).rstrip().endswith("~")
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        out.append(ch)
        i += 1
    return "".join(out)


def _replacement(name: str, quote: str, regex_ctx: bool, depth: int, values: Mapping[str, str]) -> str:
    value = values.get(name)
    if quote:
        if value is None:
            return VAR_SENTINEL.format(name)
        return value if regex_ctx else value.split("|")[0]
    if depth or name in _RANGE_MACROS:
        return value if value and re.fullmatch(r"\d+[smhdwy]", value) else "5m"
    value = (value or "").split("|")[0]  # a number (topk($n, ...), > $threshold) or a name part ($prefix_total)
    return value if re.fullmatch(r"-?\d+(\.\d+)?|[A-Za-z_:][\w:]*", value) else "1"


def parse(expr: str) -> Any:
    """The AST of ``expr`` (the query layer's parse, cached); ``ValueError`` if it is not PromQL."""
    return promql.parse(expr).node


def walk(expr: str) -> Walk:
    """Uses and joins of one (already substituted) expression."""
    out = Walk()
    _visit(parse(expr), _Ctx(), out)
    return out


def matchers_of(vs: Any) -> tuple[Matcher, ...]:
    found = []
    groups = [vs.matchers.matchers] + list(vs.matchers.or_matchers[:1])
    for group in groups:
        for m in group:
            if m.name == "__name__":
                continue
            op = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}[str(m.op).split(".")[-1]]
            var = _SENTINEL.search(m.value)
            found.append(Matcher(m.name, op, m.value, var.group(1) if var else None))
    return tuple(found)


def name_of(vs: Any) -> str | None:
    if vs.name:
        return str(vs.name)
    for group in [vs.matchers.matchers] + list(vs.matchers.or_matchers):
        for m in group:
            if m.name == "__name__" and str(m.op).endswith("Equal") and not str(m.op).endswith("NotEqual"):
                return str(m.value)
    return None


def _visit(node: Any, ctx: _Ctx, out: Walk) -> _Side:
    empty = _Side(frozenset(), False)
    if isinstance(node, pp.VectorSelector):
        name = name_of(node)
        if not name:
            return empty
        out.uses.append(Use(name, matchers_of(node), ctx.counter, ctx.quantile, ctx.info, ctx.labels, ctx.absent,
                            ctx.carried, ctx.boolean, ctx.steady, ctx.above, ctx.unique))
        return _Side(frozenset({name}), True)
    if isinstance(node, pp.MatrixSelector):
        return _visit(node.vector_selector, ctx, out)
    if isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        return _visit(node.expr, ctx, out)
    if isinstance(node, pp.AggregateExpr):
        return _aggregate(node, ctx, out)
    if isinstance(node, pp.Call):
        return _call(node, ctx, out)
    if isinstance(node, pp.BinaryExpr):
        return _binary(node, ctx, out)
    return empty


def _aggregate(node: Any, ctx: _Ctx, out: Walk) -> _Side:
    labels = frozenset(node.modifier.labels) if node.modifier is not None else frozenset()
    by = node.modifier is not None and str(node.modifier.type).endswith("By")
    op = str(node.op)
    if op == "count_values" and isinstance(node.param, pp.StringLiteral):
        labels = labels - {node.param.val}
    if node.param is not None and not isinstance(node.param, pp.StringLiteral):
        _visit(node.param, _Ctx(), out)
    # count_values()/stdvar() compare the series with each other: noise would make them differ
    steady = ctx.steady or op in ("count_values", "stdvar", "stddev")
    inner = _visit(node.expr, ctx.but(labels=ctx.labels | (labels if by else frozenset()), steady=steady), out)
    raw = not by and node.modifier is not None
    return _Side(inner.metrics, raw, inner.dropped | labels if raw else frozenset())


def _call(node: Any, ctx: _Ctx, out: Walk) -> _Side:
    name = node.func.name
    args = list(node.args)
    if name in _SCALAR_FUNCS and name not in ("scalar", "vector"):
        for a in args:
            _visit(a, _Ctx(), out)
        return _Side(frozenset(), False)
    if name == "histogram_quantile" and len(args) == 2:
        side = _visit(args[1], ctx.but(quantile=True, labels=ctx.labels | {"le"}), out)
        return _Side(side.metrics, side.raw)
    if name in ("label_replace", "label_join") and args:
        side = _visit(args[0], ctx.but(labels=ctx.labels | _source_labels(name, args)), out)
        return side
    inner = ctx
    if name in COUNTER_FUNCS:
        inner = ctx.but(counter=True)
    elif name in ("absent", "absent_over_time"):
        inner = ctx.but(absent=True)
    elif name in STEADY_FUNCS:
        inner = ctx.but(steady=True)
    sides = [_visit(a, inner, out) for a in args if not isinstance(a, (pp.StringLiteral, pp.NumberLiteral))]
    metrics = frozenset().union(*(s.metrics for s in sides)) if sides else frozenset()
    dropped = frozenset().union(*(s.dropped for s in sides)) if sides else frozenset()
    return _Side(metrics, any(s.raw for s in sides) and name not in ("absent", "absent_over_time", "scalar"), dropped)


def _source_labels(name: str, args: list[Any]) -> frozenset[str]:
    strings = [a.val for a in args[1:] if isinstance(a, pp.StringLiteral)]
    if name == "label_replace" and len(strings) >= 3:
        return frozenset({strings[2]}) - {""}
    if name == "label_join" and len(strings) >= 2:
        return frozenset(strings[2:]) - {""}
    return frozenset()


def _is_flag(node: Any) -> bool:
    return isinstance(node, pp.NumberLiteral) and node.val in (0.0, 1.0)


_ORDER = (">", "<", ">=", "<=")


def _quantile(node: Any) -> bool:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return isinstance(node, pp.Call) and node.func.name == "histogram_quantile"


def _band(node: Any) -> bool:
    """``x > a < b`` (or the same with >=/<=) with b/a under 1.5: a narrow band of values."""
    inner = node.lhs
    while isinstance(inner, pp.ParenExpr):
        inner = inner.expr
    if str(node.op) not in _ORDER or not isinstance(node.rhs, pp.NumberLiteral):
        return False
    if not isinstance(inner, pp.BinaryExpr) or str(inner.op) not in _ORDER or not isinstance(inner.rhs, pp.NumberLiteral):
        return False
    lo, hi = sorted((abs(inner.rhs.val), abs(node.rhs.val)))
    return lo > 0 and hi / lo < 1.5


def _binary(node: Any, ctx: _Ctx, out: Walk) -> _Side:
    mod = node.modifier
    on: tuple[str, ...] | None = None
    ignoring: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    card = ""
    if mod is not None:
        if mod.matching is not None:
            labels = tuple(mod.matching.labels)
            if str(mod.matching.type).endswith("Include"):
                on = labels
            else:
                ignoring = labels
        card = str(mod.card).split(".")[-1]
        include = tuple(getattr(mod, "group_labels", None) or ())
    need = frozenset(on or ())
    lctx = ctx.but(labels=ctx.labels | need)
    rctx = ctx.but(labels=ctx.labels | need)
    # The "one" side of a `* on(...) group_left(...)` join lends labels: an info metric (value 1).
    # Under another operator (`a - ignoring(x) group_right b`, a ratio) it is a value of its own.
    lends = str(node.op) == "*"
    # Prometheus refuses a "one" side with two series per on() key ("found duplicate series for
    # the match group"): a value of its own (not lent, `+ on(schedule) group_left`) gets one per key
    unique = on if on is not None and not lends and card in ("ManyToOne", "OneToMany") else None
    if card == "ManyToOne":
        rctx = rctx.but(info=lends, labels=rctx.labels | set(include), carried=frozenset(include), unique=unique)
        lctx = lctx.but(labels=lctx.labels - set(include))
    elif card == "OneToMany":
        lctx = lctx.but(info=lends, labels=lctx.labels | set(include), carried=frozenset(include), unique=unique)
        rctx = rctx.but(labels=rctx.labels - set(include))
    if str(node.op) in ("==", "!=") and _is_flag(node.rhs):
        lctx = lctx.but(boolean=True)
    if str(node.op) in ("==", "!=") and _is_flag(node.lhs):
        rctx = rctx.but(boolean=True)
    if str(node.op) in _ORDER and isinstance(node.rhs, pp.NumberLiteral) and _quantile(node.lhs):
        lctx = lctx.but(above=lctx.above + (float(node.rhs.val),))  # buckets above it: the quantile can pass it
    if _band(node):  # `x > 0.9 < 1`: a band narrower than the noise would flap in and out
        lctx = lctx.but(steady=True)
    if str(node.op) in ("==", "!=") and not isinstance(node.lhs, pp.NumberLiteral) \
            and not isinstance(node.rhs, pp.NumberLiteral):  # two vectors compared for equality: noise makes them differ
        lctx, rctx = lctx.but(steady=True), rctx.but(steady=True)
    left = _visit(node.lhs, lctx, out)
    right = _visit(node.rhs, rctx, out)
    if left.metrics and right.metrics and left.raw and right.raw:
        dropped = tuple(sorted(left.dropped | right.dropped))
        out.joins.append(Join(left.metrics, right.metrics, on if on is not None else None, ignoring + dropped))
    raw = left.raw or right.raw
    return _Side(left.metrics | right.metrics, raw, left.dropped | right.dropped)
