"""Metric names a PromQL expression reads, the way pint's series check finds them.

Not a full parser: a tokenizer that understands exactly what decides whether an identifier is
a metric name: strings (which may hold braces), ``{...}`` label matchers, ``[...]`` ranges and
subqueries, function calls, aggregation modifiers (``by (le)``: those are label names) and
keywords. On top of that, a paren-group tree answers "which missing metrics matter": one
alternative of ``a or b`` being present is enough, and ``absent(x)`` expects ``x`` to be missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Union

# Keywords that are followed by a parenthesised *label* list, not an expression.
LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = LABEL_LIST_KEYWORDS | frozenset({"bool", "offset", "and", "or", "unless", "atan2", "inf", "nan"})
# Selectors inside these are expected to be missing: no data is what they test for.
ABSENCE_FUNCTIONS = frozenset({"absent", "absent_over_time"})
# Series Prometheus itself writes while alerts are active; absent when nothing fires, not a typo.
BUILTIN_METRICS = frozenset({"ALERTS", "ALERTS_FOR_STATE"})

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:[a-zA-Z]+\d*)*")
_MATCHER = re.compile(r"""\s*([A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*")\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*,?""")


@dataclass(frozen=True)
class Selector:
    """One metric a query reads: an exact name, or a ``{__name__=~"..."}`` regex."""

    name: str
    regex: bool = False

    def matches(self, known: frozenset[str] | set[str]) -> bool:
        if not self.regex:
            return self.name in known or self.name in BUILTIN_METRICS
        pattern = re.compile(self.name)
        return any(pattern.fullmatch(n) for n in known)

    def __str__(self) -> str:
        return f'{{__name__=~"{self.name}"}}' if self.regex else self.name


@dataclass(frozen=True)
class _Tok:
    kind: str  # ident | selector | open | close | op | other
    text: str
    selector: Selector | None = None


Node = Union[_Tok, "Group"]


@dataclass
class Group:
    """A parenthesised sub-expression; ``func`` is the identifier right before its ``(``."""

    func: str | None
    items: list[Node]


def _skip_string(expr: str, i: int) -> int:
    quote = expr[i]
    i += 1
    while i < len(expr) and expr[i] != quote:
        i += 2 if expr[i] == "\\" and quote != "`" else 1
    return i + 1


def _skip_balanced(expr: str, i: int, open_: str, close: str) -> int:
    """Index after the ``close`` matching ``expr[i] == open_``; strings may contain either."""
    depth = 0
    while i < len(expr):
        ch = expr[i]
        if ch in "\"'`":
            i = _skip_string(expr, i)
            continue
        depth += ch == open_
        depth -= ch == close
        i += 1
        if depth == 0:
            return i
    return i


def _unquote(value: str) -> str:
    if value[0] == "`":
        return value[1:-1]
    return re.sub(r"\\(.)", r"\1", value[1:-1])


def _name_matcher(body: str) -> Selector | None:
    """The ``__name__`` matcher inside a ``{...}`` block, if any."""
    for label, op, value in _MATCHER.findall(body):
        if label.strip('"') == "__name__" and op in ("=", "=~"):
            return Selector(_unquote(value), regex=op == "=~")
    return None


def tokenize(expr: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch.isspace():
            i += 1
        elif ch == "#":  # comment to end of line
            i = expr.find("\n", i) if "\n" in expr[i:] else len(expr)
        elif ch in "\"'`":
            i = _skip_string(expr, i)
            toks.append(_Tok("other", "string"))
        elif ch == "{":
            end = _skip_balanced(expr, i, "{", "}")
            sel = _name_matcher(expr[i + 1:end - 1])
            toks.append(_Tok("selector", expr[i:end], sel) if sel else _Tok("matchers", expr[i:end]))
            i = end
        elif ch == "[":  # range or subquery: durations only
            i = _skip_balanced(expr, i, "[", "]")
        elif ch in "()":
            toks.append(_Tok("open" if ch == "(" else "close", ch))
            i += 1
        elif (m := _NUMBER.match(expr, i)) and (ch.isdigit() or ch == "."):
            toks.append(_Tok("other", m.group()))
            i = m.end()
        elif m := _IDENT.match(expr, i):
            toks.append(_Tok("ident", m.group()))
            i = m.end()
        else:
            toks.append(_Tok("op", ch))
            i += 1
    return toks


def _next(toks: list[_Tok], i: int) -> _Tok | None:
    return toks[i + 1] if i + 1 < len(toks) else None


def _classify(toks: list[_Tok]) -> list[_Tok]:
    """Turn metric-name identifiers into selectors; drop label lists after by/on/..."""
    out: list[_Tok] = []
    i = 0
    while i < len(toks):
        tok, nxt = toks[i], _next(toks, i)
        if tok.kind == "ident" and tok.text.lower() in LABEL_LIST_KEYWORDS:
            out.append(_Tok("keyword", tok.text))
            if nxt and nxt.kind == "open":  # skip the label list
                depth, i = 0, i + 1
                while i < len(toks):
                    depth += (toks[i].kind == "open") - (toks[i].kind == "close")
                    i += 1
                    if depth == 0:
                        break
                continue
        elif tok.kind == "ident" and (tok.text.lower() in KEYWORDS):
            out.append(_Tok("keyword", tok.text.lower()))
        elif tok.kind == "ident" and nxt is not None and (nxt.kind == "open" or (nxt.kind == "ident" and nxt.text.lower() in ("by", "without"))):
            out.append(_Tok("func", tok.text))  # function call or aggregation
        elif tok.kind == "ident":
            out.append(_Tok("selector", tok.text, Selector(tok.text)))
            if nxt and nxt.kind in ("selector", "matchers"):
                i += 1  # the name's own {...}; a second __name__ in it is not a new metric
        else:
            out.append(tok)
        i += 1
    return out


def parse(expr: str) -> Group:
    """The classified tokens as a tree of parenthesised groups."""
    root = Group(None, [])
    stack = [root]
    last: _Tok | None = None
    for tok in _classify(tokenize(expr)):
        if tok.kind == "open":
            group = Group(last.text if last is not None and last.kind == "func" else None, [])
            stack[-1].items.append(group)
            stack.append(group)
        elif tok.kind == "close":
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1].items.append(tok)
        last = tok
    return root


def _walk(node: Group) -> Iterator[Selector]:
    for item in node.items:
        if isinstance(item, Group):
            yield from _walk(item)
        elif item.selector is not None:
            yield item.selector


def selectors(expr: str) -> list[Selector]:
    """Every metric the expression reads, in order, without duplicates."""
    return list(dict.fromkeys(_walk(parse(expr))))


def metric_names(expr: str) -> list[str]:
    """The exact metric names (regex ``__name__`` matchers left out)."""
    return [s.name for s in selectors(expr) if not s.regex]


def _missing_in(node: Group, exists: Callable[[Selector], bool]) -> list[Selector]:
    if node.func in ABSENCE_FUNCTIONS:
        return []
    alternatives: list[list[Selector]] = [[]]
    for item in node.items:
        if isinstance(item, _Tok) and item.kind == "keyword" and item.text == "or":
            alternatives.append([])
        elif isinstance(item, Group):
            alternatives[-1] += _missing_in(item, exists)
        elif item.selector is not None and not exists(item.selector):
            alternatives[-1].append(item.selector)
    if len(alternatives) > 1 and any(not alt for alt in alternatives):
        return []  # `a or b`: one present side is enough (`x or vector(0)` always is)
    return list(dict.fromkeys(s for alt in alternatives for s in alt))


def missing_selectors(expr: str, known: frozenset[str] | set[str]) -> list[Selector]:
    """The selectors whose metric does not exist and whose absence changes the result."""
    return _missing_in(parse(expr), lambda s: s.matches(known))
