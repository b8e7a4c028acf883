"""Walking a parsed PromQL expression for the solver: its nodes, calls, numbers and selectors
(recorded names replaced by their rules' selectors), its longest range, vector-matching keys."""

from __future__ import annotations

import math
from typing import Any, Iterator

import promql_parser as pp

from stackctl.seeding.synth.exprs import matchers_of, name_of


def signatures(vec: list[tuple[dict[str, str], float]], on: set[str] | None,
                ignoring: set[str]) -> set[tuple[tuple[str, str], ...]]:
    """The label sets a one-to-one operator matches ``vec``'s series by."""
    return {tuple(sorted((k, lab.get(k, "")) for k in (on if on is not None else set(lab) - ignoring - {"__name__"})))
            for lab, _v in vec}


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, pp.BinaryExpr):
        yield from walk(node.lhs)
        yield from walk(node.rhs)
    elif isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr, pp.AggregateExpr)):
        yield from walk(node.expr)
        if isinstance(node, pp.AggregateExpr) and node.param is not None:
            yield from walk(node.param)
    elif isinstance(node, pp.Call):
        for a in node.args:
            yield from walk(a)
    elif isinstance(node, pp.MatrixSelector):
        yield node.vector_selector


def children(node: Any) -> list[Any]:
    if isinstance(node, pp.BinaryExpr):
        return [c for c in (node.lhs, node.rhs) if not isinstance(c, pp.NumberLiteral)]
    if isinstance(node, (pp.ParenExpr, pp.AggregateExpr, pp.UnaryExpr)):
        return [node.expr]
    if isinstance(node, pp.Call):
        return [a for a in node.args if not isinstance(a, (pp.NumberLiteral, pp.StringLiteral))]
    return []


def calls(node: Any) -> Iterator[Any]:
    return (n for n in walk(node) if isinstance(n, pp.Call))


def numbers(node: Any) -> Iterator[float]:
    for n in walk(node):
        if isinstance(n, pp.NumberLiteral) and math.isfinite(n.val):
            yield float(n.val)


def selectors(node: Any, records: dict[str, Any], depth: int = 0) -> Iterator[Any]:
    for vs, _outer in selectors_outer(node, records, depth):
        yield vs


def selectors_outer(node: Any, records: dict[str, Any], depth: int = 0,
                     outer: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Every selector, recorded names replaced by their rule's selectors; with each, the matchers
    the selectors of recorded names around it put on the recorded series."""
    for n in walk(node):
        if isinstance(n, pp.VectorSelector):
            name = name_of(n) or ""
            if name in records and depth < 5:
                yield from selectors_outer(records[name], records, depth + 1, outer + matchers_of(n))
            else:
                yield n, outer


def max_window(node: Any, records: dict[str, Any], depth: int = 0) -> float:
    longest = 0.0
    for n in walk(node):
        if isinstance(n, (pp.MatrixSelector, pp.SubqueryExpr)):
            longest = max(longest, n.range.total_seconds() if n.range is not None else 0.0)
        if isinstance(n, pp.VectorSelector) and (name_of(n) or "") in records and depth < 5:
            longest = max(longest, max_window(records[name_of(n) or ""], records, depth + 1))
    return longest
