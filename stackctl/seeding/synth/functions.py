"""PromQL functions for the steady-state evaluator (``evaluate``).

Steady state means no trend: ``deriv``/``delta`` of a gauge are 0, ``predict_linear`` is the
current level, ``changes`` counts one change per sample of a noisy gauge. Those are the
approximations the alert solver reports when a rule depends on them.
"""

from __future__ import annotations

import calendar
import datetime
import math
from typing import Any, Callable

import promql_parser as pp

from stackctl.seeding.synth.evaluate import (
    Env,
    Unsupported,
    Value,
    Vec,
    as_vec,
    drop_name,
    evaluate,
    label_replace,
    range_arg,
    slopes,
)

SCRAPE = 15.0
# the calendar functions: the clock at the evaluation time (or of a timestamp argument), in UTC
CLOCK = frozenset({"day_of_week", "day_of_month", "day_of_year", "days_in_month", "hour", "minute", "month", "year"})
_MATH: dict[str, Callable[[float], float]] = {
    "abs": abs, "ceil": math.ceil, "floor": math.floor, "exp": math.exp, "sqrt": lambda x: math.sqrt(x) if x >= 0 else math.nan,
    "ln": lambda x: math.log(x) if x > 0 else -math.inf if x == 0 else math.nan,
    "log2": lambda x: math.log2(x) if x > 0 else -math.inf if x == 0 else math.nan,
    "log10": lambda x: math.log10(x) if x > 0 else -math.inf if x == 0 else math.nan,
    "sgn": lambda x: float((x > 0) - (x < 0)), "deg": math.degrees, "rad": math.radians,
}
_OVER_TIME = ("avg_over_time", "min_over_time", "max_over_time", "last_over_time", "quantile_over_time",
              "sum_over_time", "count_over_time", "stddev_over_time", "stdvar_over_time", "present_over_time",
              "mad_over_time")
TREND = frozenset({"predict_linear", "deriv", "delta", "idelta", "holt_winters", "double_exponential_smoothing"})


def _noisy(env: Env, name: str) -> bool:
    """Does this series change from sample to sample (a counter with events, a gauge with a spread)?"""
    found = env.model.by_series_name(name)
    if found is None:
        return True
    m = found[0]
    trending = any(t.slope for (metric, _i), t in env.tweaks.items() if metric == m.name)
    return m.kind in ("counter", "histogram") or m.profile.spread > 0 or trending


def _map(vec: Vec, fn: Callable[[float], float]) -> Vec:
    out: Vec = []
    for lab, v in vec:
        try:
            out.append((drop_name(lab), float(fn(v))))
        except (OverflowError, ValueError):
            out.append((drop_name(lab), math.nan))
    return out


def _calendar(name: str, ts: float) -> float:
    """``hour()``, ``day_of_week()``, ... of a Unix time, in UTC as Prometheus computes them."""
    if not math.isfinite(ts):
        return math.nan
    d = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    if name == "days_in_month":
        return float(calendar.monthrange(d.year, d.month)[1])
    values = {"minute": d.minute, "hour": d.hour, "day_of_week": d.isoweekday() % 7, "day_of_month": d.day,
              "day_of_year": d.timetuple().tm_yday, "month": d.month, "year": d.year}
    return float(values[name])


def _num(node: Any, env: Env) -> float:
    v = evaluate(node, env)
    if isinstance(v, list):
        return v[0][1] if len(v) == 1 else math.nan
    return v


def call(node: Any, env: Env) -> Value:
    name = node.func.name
    args = list(node.args)
    if name in ("rate", "irate", "increase"):
        vec, window, _counter = range_arg(args[0], env, per_second=True)
        factor = window if name == "increase" else 1.0
        return [(drop_name(lab), v * factor) for lab, v in vec]
    if name in _OVER_TIME:
        return _over_time(name, args, env)
    if name in TREND or name == "resets":
        arg = args[0]
        vec, window, counter = range_arg(arg, env, per_second=False)
        trend = [s for _l, s in slopes(arg, env)] or [0.0] * len(vec)
        if name == "predict_linear":
            ahead = _num(args[1], env) if len(args) > 1 else 0.0
            return [(drop_name(lab), v + s * ahead) for (lab, v), s in zip(vec, trend)]
        if name in ("deriv",):
            return [(drop_name(lab), s) for (lab, _v), s in zip(vec, trend)]
        if name in ("delta", "idelta"):
            span = window if name == "delta" else SCRAPE
            return [(drop_name(lab), s * span) for (lab, _v), s in zip(vec, trend)]
        return [(drop_name(lab), v) if name != "resets" else (drop_name(lab), 0.0) for lab, v in vec]
    if name == "changes":
        vec, window, _c = range_arg(args[0], env, per_second=False)
        return [(drop_name(lab), window / SCRAPE if _noisy(env, lab.get("__name__", "")) else 0.0) for lab, _v in vec]
    if name in ("absent", "absent_over_time"):
        inner = range_arg(args[0], env, False)[0] if name == "absent_over_time" else as_vec(evaluate(args[0], env))
        return [] if inner else [({}, 1.0)]
    if name == "histogram_quantile":
        return _quantile(_num(args[0], env), as_vec(evaluate(args[1], env)))
    if name in _MATH:
        return _map(as_vec(evaluate(args[0], env)), _MATH[name])
    return _other(name, args, env)


def _other(name: str, args: list[Any], env: Env) -> Value:
    if name == "round":
        to = _num(args[1], env) if len(args) > 1 else 1.0
        return _map(as_vec(evaluate(args[0], env)), lambda x: round(x / to) * to if to else x)
    if name in ("clamp", "clamp_min", "clamp_max"):
        bounds = [_num(a, env) for a in args[1:]]
        lo = bounds[0] if name in ("clamp", "clamp_min") else -math.inf
        hi = bounds[-1] if name in ("clamp", "clamp_max") else math.inf
        return _map(as_vec(evaluate(args[0], env)), lambda x: min(max(x, lo), hi))
    if name == "time":
        return float(env.now + env.age)
    if name == "timestamp":
        return [(drop_name(lab), env.now) for lab, _v in as_vec(evaluate(args[0], env))]
    if name == "vector":
        return [({}, _num(args[0], env))]
    if name == "scalar":
        return _num(args[0], env)
    if name in ("sort", "sort_desc", "sort_by_label", "sort_by_label_desc"):
        return as_vec(evaluate(args[0], env))
    if name == "label_replace":
        s = [a.val for a in args[1:]]
        return label_replace(as_vec(evaluate(args[0], env)), s[0], s[1], s[2], s[3])
    if name == "label_join":
        s = [a.val for a in args[1:]]
        out = []
        for lab, v in as_vec(evaluate(args[0], env)):
            out.append(({**lab, s[0]: s[1].join(lab.get(x, "") for x in s[2:])}, v))
        return out
    if name in ("pi",):
        return math.pi
    if name in CLOCK:
        if not args:  # Prometheus: vector(time()), one series without labels
            return [({}, _calendar(name, env.now + env.age))]
        return [(drop_name(lab), _calendar(name, v)) for lab, v in as_vec(evaluate(args[0], env))]
    raise Unsupported(f"function {name}()")


def _over_time(name: str, args: list[Any], env: Env) -> Vec:
    vec, window, counter = range_arg(args[-1], env, per_second=False)
    if name == "count_over_time":
        return [(drop_name(lab), window / SCRAPE) for lab, _v in vec]
    if name == "present_over_time":
        return [(drop_name(lab), 1.0) for lab, _v in vec]
    if name == "sum_over_time":
        return [(drop_name(lab), v * window / SCRAPE) for lab, v in vec]
    if name in ("stddev_over_time", "stdvar_over_time", "mad_over_time"):
        def spread(lab: dict[str, str], v: float) -> float:  # a noisy gauge varies by its spread
            found = env.model.by_series_name(lab.get("__name__", ""))
            sd = abs(v) * found[0].profile.spread if found and found[0].kind == "gauge" else 0.0
            return sd * sd if name == "stdvar_over_time" else sd
        return [(drop_name(lab), spread(lab, v)) for lab, v in vec]
    return [(drop_name(lab), v) for lab, v in vec]


def _quantile(q: float, vec: Vec) -> Vec:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket."""
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for lab, v in vec:
        if "le" not in lab:
            continue
        try:
            le = float(lab["le"])
        except ValueError:
            continue
        key = tuple(sorted((k, x) for k, x in lab.items() if k not in ("le", "__name__")))
        groups.setdefault(key, []).append((le, v))
    out: Vec = []
    for key, buckets in groups.items():
        buckets.sort()
        out.append((dict(key), _interpolate(q, buckets)))
    return out


def _interpolate(q: float, buckets: list[tuple[float, float]]) -> float:
    if not buckets or buckets[-1][0] != math.inf:
        return math.nan
    total = buckets[-1][1]
    if total <= 0:
        return math.nan
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == math.inf:
                return buckets[-2][0] if len(buckets) > 1 else math.nan
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return buckets[-2][0] if len(buckets) > 1 else math.nan


def is_string(node: Any) -> bool:
    return isinstance(node, pp.StringLiteral)


def make_env(model: Any, tweaks: Any = None, rules: Any = None, now: float | None = None, age: float = 0.0) -> Env:
    """An evaluation environment with these functions."""
    env = Env(model, dict(tweaks or {}), dict(rules or {}), call=call, age=age)
    if now is not None:
        env.now = float(now)
    return env
