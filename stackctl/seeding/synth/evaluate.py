"""Evaluate PromQL over the model's steady state, the way Prometheus would over the seeded data.

Each series stands for its expected value: a gauge its level, ``rate()`` of a counter its
events per second, a histogram's buckets its rate times the bucket probabilities (so
``histogram_quantile`` interpolates exactly as Prometheus does). Vector matching (``on``,
``ignoring``, ``group_left``), ``and``/``or``/``unless``, comparisons with and without
``bool``, aggregations and the common functions follow the Prometheus semantics. The alert
solver asks it "is this condition's result empty?" while it turns the model's knobs.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import promql_parser as pp

from stackctl.seeding import distributions as dists
from stackctl.seeding.generate import format_le
from stackctl.seeding.scenario import Distribution
from stackctl.seeding.synth.exprs import matchers_of, name_of
from stackctl.seeding.synth.model import MetricModel, SynthModel, matching

Labels = dict[str, str]
Vec = list[tuple[Labels, float]]
Value = Union[float, Vec]
HOUR = 3600.0


class Unsupported(Exception):
    """A construct the evaluator does not model; the solver names it."""


@dataclass
class Tweak:
    """A knob setting on some series: rates and values scaled, or the series left out."""

    rate: float = 1.0
    value: float = 1.0
    drop: bool = False
    set: float | None = None  # a gauge's level set outright (a 0/1 flag, a threshold)
    slope: float = 0.0  # a gauge's trend, per second (predict_linear, deriv)

    def level(self, level: float) -> float:
        return self.set if self.set is not None else level * self.value


@dataclass
class Env:
    model: SynthModel
    tweaks: dict[tuple[str, int], Tweak] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)  # recorded name -> parsed expr
    now: float = 1.7e9
    call: Callable[[Any, Env], Value] | None = None  # the functions (``functions.call``)
    age: float = 0.0  # seconds time() is ahead of the seeded constants (a timestamp ages after seeding)

    def tweak(self, metric: str, i: int) -> Tweak:
        return self.tweaks.get((metric, i)) or Tweak()


def latency(m: MetricModel, value_factor: float) -> Distribution:
    p = m.profile
    return Distribution(kind="lognormal", median=p.median * value_factor, p95=p.p95 * value_factor)


def _select(node: Any, env: Env, per_second: bool, window: float, slope: bool = False) -> Vec:
    name = name_of(node)
    if name is None:
        return []
    ms = matchers_of(node)
    if name in env.rules:
        vec = as_vec(evaluate(env.rules[name], env))
        return [({**lab, "__name__": name}, v) for lab, v in vec
                if all(m.matches({**lab, "__name__": name}.get(m.name, "")) for m in ms)]
    found = env.model.by_series_name(name)
    if found is None:
        return []
    metric, suffix = found
    out: Vec = []
    for i in matching(metric, ms):
        t = env.tweak(metric.name, i)
        if t.drop:
            continue
        s = metric.series[i]
        labels = {**s.labels, "__name__": name}
        if slope and metric.kind in ("gauge", "info"):
            out.append((labels, t.slope))
            continue
        out += _series_values(metric, suffix, labels, s.level, t, per_second or slope, window, ms, env.now)
    return out


def _series_values(metric: MetricModel, suffix: str, labels: Labels, level: float, t: Tweak,
                   per_second: bool, window: float, ms: Any, now: float) -> Vec:
    if metric.kind in ("gauge", "info"):
        value = t.level(level) + (now if metric.profile.from_now else 0.0)
        return [(labels, value if not per_second else 0.0)]
    rate = level * t.rate
    scale = 1.0 if per_second else HOUR
    if metric.kind == "counter":
        return [(labels, rate * scale)]
    dist = latency(metric, t.value)
    if suffix == "_count":
        return [(labels, rate * scale)]
    if suffix == "_sum":
        return [(labels, rate * scale * dists.mean(dist))]
    probs, _means = dists.bucket_model(dist, metric.buckets)
    cum = list(itertools.accumulate(float(p) for p in probs))
    les = [format_le(b) for b in metric.buckets] + ["+Inf"]
    out = [({**labels, "le": le}, rate * scale * c) for le, c in zip(les, cum)]
    le_ms = [m for m in ms if m.name == "le"]
    return [(lab, v) for lab, v in out if all(m.matches(lab["le"]) for m in le_ms)]


def as_vec(v: Value) -> Vec:
    return v if isinstance(v, list) else [({}, v)]


def evaluate(node: Any, env: Env) -> Value:
    if isinstance(node, pp.NumberLiteral):
        return float(node.val)
    if isinstance(node, pp.StringLiteral):
        raise Unsupported("a string expression")
    if isinstance(node, pp.VectorSelector):
        return _select(node, env, False, 0.0)
    if isinstance(node, pp.ParenExpr):
        return evaluate(node.expr, env)
    if isinstance(node, pp.UnaryExpr):
        v = evaluate(node.expr, env)
        return -v if isinstance(v, float) else [(drop_name(lab), -x) for lab, x in v]
    if isinstance(node, pp.SubqueryExpr):
        return evaluate(node.expr, env)
    if isinstance(node, pp.MatrixSelector):
        raise Unsupported("a range vector outside a function")
    if isinstance(node, pp.AggregateExpr):
        return _aggregate(node, env)
    if isinstance(node, pp.Call):
        if env.call is None:
            raise Unsupported("functions (build the Env with functions.make_env)")
        return env.call(node, env)
    if isinstance(node, pp.BinaryExpr):
        return _binary(node, env)
    raise Unsupported(type(node).__name__)


def slopes(node: Any, env: Env) -> Vec:
    """Per-second trend of each series of a range argument (a counter's: its rate)."""
    if isinstance(node, pp.MatrixSelector):
        return _select(node.vector_selector, env, False, 0.0, slope=True)
    return [(lab, 0.0) for lab, _v in as_vec(evaluate(node.expr, env))] if isinstance(node, pp.SubqueryExpr) else []


def range_arg(node: Any, env: Env, per_second: bool) -> tuple[Vec, float, bool]:
    """(vector, window seconds, counter-like) of a range function's argument."""
    if isinstance(node, pp.MatrixSelector):
        window = node.range.total_seconds() if node.range is not None else 300.0
        vs = node.vector_selector
        vec = _select(vs, env, per_second, window)
        name = name_of(vs) or ""
        found = env.model.by_series_name(name)
        counter = bool(found and found[0].kind in ("counter", "histogram"))
        if not counter and per_second:
            vec = [(lab, 0.0) for lab, _v in vec]
        elif not per_second and not counter:
            vec = _select(vs, env, False, window)
        return vec, window, counter
    if isinstance(node, pp.SubqueryExpr):
        window = node.range.total_seconds() if node.range is not None else 300.0
        return as_vec(evaluate(node.expr, env)), window, False
    raise Unsupported("a range function over a non-range argument")


def drop_name(labels: Labels) -> Labels:
    return {k: v for k, v in labels.items() if k != "__name__"}


_CMP: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b,
}


def _arith(op: str, a: float, b: float) -> float:
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b if b else (math.nan if a == 0 else math.copysign(math.inf, a))
        if op == "%":
            return math.fmod(a, b) if b else math.nan
        if op == "^":
            return float(a**b)
        if op == "atan2":
            return math.atan2(a, b)
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.nan
    raise Unsupported(f"operator {op}")


def _signature(labels: Labels, mod: Any) -> tuple[tuple[str, str], ...]:
    if mod is not None and mod.matching is not None:
        names = set(mod.matching.labels)
        if str(mod.matching.type).endswith("Include"):
            return tuple(sorted((k, v) for k, v in labels.items() if k in names))
        return tuple(sorted((k, v) for k, v in labels.items() if k not in names and k != "__name__"))
    return tuple(sorted(drop_name(labels).items()))


def _binary(node: Any, env: Env) -> Value:
    op = str(node.op)
    mod = node.modifier
    lhs, rhs = evaluate(node.lhs, env), evaluate(node.rhs, env)
    want_bool = bool(mod is not None and mod.return_bool)
    if op in ("and", "or", "unless"):
        return _set_op(op, as_vec(lhs), as_vec(rhs), mod)
    if isinstance(lhs, float) and isinstance(rhs, float):
        if op in _CMP:
            return float(_CMP[op](lhs, rhs))
        return _arith(op, lhs, rhs)
    if isinstance(lhs, float) or isinstance(rhs, float):
        return _with_scalar(op, lhs, rhs, want_bool)
    return _vector_match(op, lhs, rhs, mod, want_bool)


def _with_scalar(op: str, lhs: Value, rhs: Value, want_bool: bool) -> Vec:
    vec_left = isinstance(lhs, list)
    vec: Vec = lhs if isinstance(lhs, list) else rhs  # type: ignore[assignment]
    scalar = float(rhs if vec_left else lhs)  # type: ignore[arg-type]
    out: Vec = []
    for lab, v in vec:
        a, b = (v, scalar) if vec_left else (scalar, v)
        if op in _CMP:
            hit = _CMP[op](a, b)
            if want_bool:
                out.append((drop_name(lab), float(hit)))
            elif hit:
                out.append((lab, v))
        else:
            out.append((drop_name(lab), _arith(op, a, b)))
    return out


def _vector_match(op: str, lhs: Vec, rhs: Vec, mod: Any, want_bool: bool, swapped: bool = False) -> Vec:
    card = str(mod.card).split(".")[-1] if mod is not None else "OneToOne"
    include = list(getattr(mod, "group_labels", None) or []) if mod is not None else []
    if card == "OneToMany":  # as Prometheus: iterate the "many" side, compute in the written order
        return _vector_match(op, rhs, lhs, _Flip(mod), want_bool, swapped=True)
    right: dict[tuple[tuple[str, str], ...], tuple[Labels, float]] = {}
    for lab, v in rhs:
        key = _signature(lab, mod)
        if key in right:  # Prometheus: "many-to-many matching not allowed", the query fails
            return []
        right[key] = (lab, v)
    if card == "OneToOne" and len({_signature(lab, mod) for lab, _v in lhs}) < len(lhs):
        return []  # two left series match one right series without group_left: an error too
    out: Vec = []
    for lab, v in lhs:
        hit = right.get(_signature(lab, mod))
        if hit is None:
            continue
        rlab, rv = hit
        a, b = (rv, v) if swapped else (v, rv)  # the written lhs and rhs values
        if op in _CMP:
            ok = _CMP[op](a, b)
            if want_bool:
                out.append((_result_labels(lab, rlab, mod, include, card), float(ok)))
            elif ok:  # a filter keeps the written lhs' value (Prometheus), on the "many" side's labels
                out.append((lab, a) if swapped else (lab, v))
            continue
        out.append((_result_labels(lab, rlab, mod, include, card), _arith(op, a, b)))
    return out


class _Flip:
    """group_right evaluated as group_left with the sides swapped."""

    def __init__(self, mod: Any) -> None:
        self.matching, self.return_bool = mod.matching, mod.return_bool
        self.group_labels = getattr(mod, "group_labels", None)
        self.card = "ManyToOne"


def _result_labels(lab: Labels, rlab: Labels, mod: Any, include: list[str], card: str) -> Labels:
    out = drop_name(lab)
    if card == "ManyToOne":
        for name in include:
            if name in rlab:
                out[name] = rlab[name]
    elif mod is not None and mod.matching is not None and str(mod.matching.type).endswith("Include"):
        names = set(mod.matching.labels)
        out = {k: v for k, v in out.items() if k in names}
    return out


def _set_op(op: str, lhs: Vec, rhs: Vec, mod: Any) -> Vec:
    keys = {_signature(lab, mod) for lab, _v in rhs}
    if op == "and":
        return [(lab, v) for lab, v in lhs if _signature(lab, mod) in keys]
    if op == "unless":
        return [(lab, v) for lab, v in lhs if _signature(lab, mod) not in keys]
    left = {_signature(lab, mod) for lab, _v in lhs}
    return lhs + [(lab, v) for lab, v in rhs if _signature(lab, mod) not in left]


def _group_key(lab: Labels, node: Any) -> Labels:
    mod = node.modifier
    if mod is None:
        return {}
    names = set(mod.labels)
    if str(mod.type).endswith("By"):
        return {k: v for k, v in lab.items() if k in names}
    return {k: v for k, v in lab.items() if k not in names and k != "__name__"}


def _aggregate(node: Any, env: Env) -> Value:
    op = str(node.op)
    vec = as_vec(evaluate(node.expr, env))
    param = evaluate(node.param, env) if node.param is not None and not isinstance(node.param, pp.StringLiteral) else None
    if op in ("topk", "bottomk", "limitk"):
        k = int(param) if isinstance(param, float) and not math.isnan(param) else 1
        ordered = sorted(vec, key=lambda e: e[1], reverse=op == "topk") if op != "limitk" else vec
        return ordered[: max(k, 0)]
    if op == "limit_ratio":
        return vec
    groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
    keys: dict[tuple[tuple[str, str], ...], Labels] = {}
    for lab, v in vec:
        key_labels = _group_key(lab, node)
        if op == "count_values" and isinstance(node.param, pp.StringLiteral):  # one output per distinct value
            key_labels = {**key_labels, node.param.val: f"{v:g}"}
        key = tuple(sorted(key_labels.items()))
        groups.setdefault(key, []).append(v)
        keys[key] = key_labels
    out: Vec = []
    for key, vals in groups.items():
        out.append((keys[key], _reduce(op, vals, param)))
    return out


def _reduce(op: str, vals: list[float], param: Value | None) -> float:
    if op == "sum":
        return sum(vals)
    if op in ("avg", "quantile"):
        return sum(vals) / len(vals)
    if op == "min":
        return min(vals)
    if op == "max":
        return max(vals)
    if op in ("count", "count_values"):
        return float(len(vals))
    if op == "group":
        return 1.0
    if op in ("stddev", "stdvar"):
        mean = sum(vals) / len(vals)
        var = sum((v - mean) ** 2 for v in vals) / len(vals)
        return math.sqrt(var) if op == "stddev" else var
    raise Unsupported(f"aggregation {op}")


def label_replace(vec: Vec, dst: str, repl: str, src: str, regex: str) -> Vec:
    out: Vec = []
    template = re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", repl)
    for lab, v in vec:
        m = re.fullmatch(regex, lab.get(src, ""))
        if m is None:
            out.append((lab, v))
            continue
        new = dict(lab)
        value = m.expand(template)
        if value:
            new[dst] = value
        else:
            new.pop(dst, None)
        out.append((new, v))
    return out
