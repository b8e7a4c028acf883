"""Recorded names read with matchers: the label values those matchers ask reach the rule's inputs.

An alert reading ``record{status_code=~"5.."}`` needs the recorded series with a 5xx code, so
the rule's inputs (``sum by (status_code) (rate(x[5m]))``) need series with one. The model is
built from the inputs' own uses only; this adds, for each such read, a copy of the recording
rule's uses narrowed by the matchers on labels the rule keeps (its ``by()``/``on()`` labels, or
the input's own matchers), so the model gives those values too. Chains (a record of a record)
are followed a few levels down.
"""

from __future__ import annotations

from dataclasses import replace

from stackctl.seeding.synth import exprs as E
from stackctl.seeding.synth import model as M
from stackctl.seeding.synth.alerts import RULE_MANAGER_SERIES, Rule

__all__ = ["RULE_MANAGER_SERIES", "through_records"]

DEPTH = 4


def through_records(walks: list[tuple[M.Query, E.Walk]], rules: list[Rule]) -> list[tuple[M.Query, E.Walk]]:
    """``walks`` plus, per recorded name read with matchers, the rule's uses carrying them."""
    records = [r for r in rules if r.kind == "record"]
    by_name: dict[str, list[tuple[Rule, E.Walk]]] = {}
    for r in records:
        for q, w in walks:
            if q.expr == r.expr and q.source.endswith(f": {r.name}"):
                by_name.setdefault(r.name, []).append((r, w))
                break
    out = list(walks)
    pending = [(q, u, 0) for q, w in walks for u in w.uses if u.metric in by_name and _asked(u)]
    seen: set[tuple[str, tuple[E.Matcher, ...]]] = set()
    while pending:
        q, use, depth = pending.pop()
        key = (use.metric, use.matchers)
        if key in seen or depth >= DEPTH:
            continue
        seen.add(key)
        for rule, walk in by_name[use.metric]:
            static = dict(rule.labels)
            asked = [m for m in use.matchers if m.var is None and m.name not in ("__name__", "le")]
            if any(m.name in static and not m.matches(static[m.name]) for m in asked):
                continue  # this rule's output never has the value asked (verb="read" vs "write")
            asked = [m for m in asked if m.name not in static]
            uses = [_narrowed(u, asked) for u in walk.uses]
            if uses == walk.uses:
                continue
            out.append((replace(q, expr=rule.expr), E.Walk(uses, walk.joins)))
            pending += [(q, u, depth + 1) for u in uses if u.metric in by_name and _asked(u)]
    return out


def _asked(use: E.Use) -> bool:
    return any(m.var is None and m.name not in ("__name__", "le") for m in use.matchers)


def _narrowed(use: E.Use, asked: list[E.Matcher]) -> E.Use:
    """The input's use with the outer matchers on labels the rule keeps from it."""
    kept = set(use.labels) | {m.name for m in use.matchers}
    own = {m.name for m in use.matchers}
    extra = tuple(m for m in asked if m.name in kept and m.name not in own)
    return replace(use, matchers=use.matchers + extra) if extra else use
