"""Cross-field checks of a scenario. Each returns ``(field path, message)`` pairs so the
caller can point at the exact file line; pydantic alone can only say "value error"."""

from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

from stackctl.seeding.scenario import (
    BUILTIN_FIELDS,
    LABEL_NAME,
    LEVELS,
    Distribution,
    LogStream,
    Metric,
    RedisStream,
    Scenario,
    format_duration,
    template_fields,
)
from stackctl.yamlfile import suggest

Problem = tuple[tuple[Any, ...], str]
_NEEDS = {"constant": ("value",), "normal": ("mean", "stddev"), "uniform": ("low", "high"),
          "lognormal": ("median", "p95")}


def check_distribution(d: Distribution, path: tuple[Any, ...]) -> Iterator[Problem]:
    for key in _NEEDS[d.kind]:
        if getattr(d, key) is None:
            yield path + (key,), f"a {d.kind} distribution needs {' and '.join(_NEEDS[d.kind])}"
            return
    if d.kind == "normal" and (d.stddev or 0) < 0:
        yield path + ("stddev",), "stddev must not be negative"
    if d.kind == "uniform" and (d.low or 0) >= (d.high or 0):
        yield path + ("high",), "high must be greater than low"
    if d.kind == "lognormal" and not (0 < (d.median or 0) < (d.p95 or 0)):
        yield path + ("p95",), "lognormal needs 0 < median < p95"
    if d.min is not None and d.max is not None and d.min > d.max:
        yield path + ("max",), "max must not be below min"


def _check_phase_refs(keys: Any, phases: set[str], path: tuple[Any, ...]) -> Iterator[Problem]:
    for name in keys:
        if name not in phases:
            known = ", ".join(sorted(phases)) or "none: add a top-level phases: list"
            yield path + (name,), f"unknown phase {name!r}{suggest(name, phases)} (phases: {known})"


def _check_weights(m: Metric, path: tuple[Any, ...]) -> Iterator[Problem]:
    for i, s in enumerate(m.series):
        if not math.isfinite(s.weight) or s.weight < 0:
            yield path + ("series", i, "weight"), f"weight must be positive or 0, got {s.weight}"
        for ph, over in s.phases.items():
            if over.weight is not None and over.weight < 0:
                yield path + ("series", i, "phases", ph, "weight"), "weight must be positive or 0"
    if m.type != "gauge" and sum(max(s.weight, 0) for s in m.series) <= 0:
        yield path + ("series",), "at least one series needs a positive weight"


def _check_labels(m: Metric, path: tuple[Any, ...]) -> Iterator[Problem]:
    seen: set[tuple[tuple[str, str], ...]] = set()
    for i, s in enumerate(m.series):
        for name in s.labels:
            if not LABEL_NAME.match(name) or name.startswith("__"):
                yield path + ("series", i, "labels", name), f"invalid label name {name!r}"
            if name == "le" and m.type == "histogram":
                yield path + ("series", i, "labels", name), "'le' is set by the histogram itself"
        key = tuple(sorted(s.labels.items()))
        if key in seen:
            yield path + ("series", i, "labels"), f"duplicate label set {dict(key)}"
        seen.add(key)


def _check_type(m: Metric, path: tuple[Any, ...], synthesized: bool = False) -> Iterator[Problem]:
    if m.type in ("counter", "histogram") and m.rate is None:
        yield path + ("rate",), f"a {m.type} needs rate: (events per second, all series together)"
    # Exporters do have counters without the suffix (node_vmstat_pgfault): a synthesized
    # scenario keeps the names its dashboards query.
    if m.type == "counter" and not m.name.endswith("_total") and not synthesized:
        yield path + ("name",), f"counter names end in _total (did you mean {m.name + '_total'!r}?)"
    if m.type != "histogram" and m.buckets is not None:
        yield path + ("buckets",), f"only histograms have buckets (this is a {m.type})"
    if m.type == "histogram":
        b = m.buckets or []
        if not b:
            yield path + ("buckets",), "a histogram needs buckets: (upper bounds, ascending; +Inf is added)"
        elif any(x >= y for x, y in zip(b, b[1:])) or not all(map(math.isfinite, b)):
            yield path + ("buckets",), "buckets must be finite and strictly ascending (+Inf is implicit)"
    if m.type in ("gauge", "histogram"):
        if m.distribution is None and any(s.distribution is None for s in m.series):
            yield path + ("distribution",), f"a {m.type} needs distribution: (here or on every series)"
    elif m.distribution is not None:
        yield path + ("distribution",), "a counter takes rate:, not distribution:"


def _check_metric(m: Metric, path: tuple[Any, ...], phases: set[str], synthesized: bool = False) -> Iterator[Problem]:
    yield from _check_type(m, path, synthesized)
    yield from _check_weights(m, path)
    yield from _check_labels(m, path)
    yield from _check_phase_refs(m.phases, phases, path + ("phases",))
    for i, s in enumerate(m.series):
        yield from _check_phase_refs(s.phases, phases, path + ("series", i, "phases"))
    dists = [(path + ("distribution",), m.distribution)]
    dists += [(path + ("phases", k, "distribution"), p.distribution) for k, p in m.phases.items()]
    for i, s in enumerate(m.series):
        dists.append((path + ("series", i, "distribution"), s.distribution))
        dists += [(path + ("series", i, "phases", k, "distribution"), p.distribution) for k, p in s.phases.items()]
    for where, d in dists:
        if d is not None:
            yield from check_distribution(d, where)


def _check_levels(levels: Mapping[str, float], path: tuple[Any, ...], have: set[str]) -> Iterator[Problem]:
    for level, w in levels.items():
        if level not in LEVELS:
            yield path + (level,), f"unknown level {level!r}{suggest(level, LEVELS)} (levels: {', '.join(LEVELS)})"
        elif w < 0:
            yield path + (level,), "level weights must be positive or 0"
        elif w > 0 and level not in have:
            yield path + (level,), f"no message template has level {level!r}"
    if levels and sum(max(w, 0) for w in levels.values()) <= 0:
        yield path, "at least one level needs a positive weight"


def _check_log(s: LogStream, path: tuple[Any, ...], phases: set[str]) -> Iterator[Problem]:
    have: set[str] = {m.level for m in s.messages}
    yield from _check_levels(s.levels, path + ("levels",), have)
    yield from _check_phase_refs(s.phases, phases, path + ("phases",))
    for name, ph in s.phases.items():
        if ph.levels is not None:
            yield from _check_levels(ph.levels, path + ("phases", name, "levels"), have)
    known = set(BUILTIN_FIELDS) | set(s.fields)
    for i, msg in enumerate(s.messages):
        if msg.weight <= 0:
            yield path + ("messages", i, "weight"), "message weights must be positive"
        try:
            names = template_fields(msg.template)
        except ValueError as exc:
            yield path + ("messages", i, "template"), f"bad template: {exc}"
            continue
        for name in names:
            if name not in known:
                yield path + ("messages", i, "template"), (
                    f"unknown field {{{name}}}{suggest(name, known)}; declare it under fields: "
                    f"or use one of {', '.join(BUILTIN_FIELDS)}")


def _check_redis(r: RedisStream, path: tuple[Any, ...], phases: set[str]) -> Iterator[Problem]:
    yield from _check_phase_refs(r.phases, phases, path + ("phases",))
    for key, template in r.fields.items():
        for name in template_fields(template):
            if name not in BUILTIN_FIELDS:
                yield path + ("fields", key), f"unknown field {{{name}}}{suggest(name, BUILTIN_FIELDS)}"


def _check_names(sc: Scenario) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, m in enumerate(sc.metrics):
        names = [m.name] if m.type != "histogram" else [f"{m.name}_{x}" for x in ("bucket", "sum", "count")]
        for n in names:
            if n in seen:
                yield ("metrics", i, "name"), f"metric {n!r} is already defined (metrics.{seen[n]})"
            seen[n] = i
    for i, r in enumerate(sc.redis):
        for field in ("pending_metric", "lag_metric"):
            n = getattr(r, field)
            if n in seen:
                yield ("redis", i, field), f"metric {n!r} is also generated by metrics.{seen[n]}"
    # Prometheus accepts rules of one name (a warning/critical pair): name + labels is the key.
    alerts = [(a.name, tuple(sorted(a.labels.items()))) for a in sc.expected_alerts]
    for i, a in enumerate(alerts):
        if a in alerts[:i]:
            extra = f" with labels {dict(a[1])}" if a[1] else ""
            yield ("expected_alerts", i, "name"), (f"alert {a[0]!r}{extra} listed twice (give labels: to tell "
                                                   "rules of one name apart)")


def _check_phases(sc: Scenario) -> Iterator[Problem]:
    names = [p.name for p in sc.phases]
    for i, n in enumerate(names):
        if n in names[:i]:
            yield ("phases", i, "name"), f"phase {n!r} defined twice"
    span = sum(p.duration for p in sc.phases)
    if span > sc.history:
        yield ("phases",), (f"phases span {format_duration(span)} but the scenario's history is "
                            f"{format_duration(sc.history)}: raise history: or shorten the phases")


def semantic_problems(sc: Scenario, inherited_phases: frozenset[str] = frozenset()) -> list[Problem]:
    """Problems of one file; ``inherited_phases`` are the phases its ``base:`` scenarios define."""
    phases = {p.name for p in sc.phases} | set(inherited_phases)
    problems = list(_check_phases(sc)) + list(_check_names(sc))
    if not sc.packs and not sc.sources:
        problems.append((("packs",), "list the packs whose dashboards this scenario feeds (packs: [http-service])"))
    for i, m in enumerate(sc.metrics):
        problems += _check_metric(m, ("metrics", i), phases, bool(sc.sources))
    for i, s in enumerate(sc.logs):
        problems += _check_log(s, ("logs", i), phases)
    for i, r in enumerate(sc.redis):
        problems += _check_redis(r, ("redis", i), phases)
    return problems
