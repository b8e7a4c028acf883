"""LogQL: stream selectors, pipelines and metric queries, as far as the Loki docs define them.

Hand-written on purpose: there is no maintained Python LogQL parser (the maintained ones are
Loki's Go parser and Grafana's JavaScript ``@grafana/lezer-logql``). The grammar parts used
here are small and regular: outside string literals, every ``{...}`` is a stream selector
(``{app="api", env=~"prod|dev"}``); ``[5m]`` is a range; ``name(`` or ``name by (...)`` before a
selector makes it a metric query (``sum by (level) (count_over_time({app="x"} |= "err" [5m]))``);
``|=``, ``!=``, ``|~``, ``!~`` and ``| parser ...`` stages follow a selector. ``parse`` raises
:class:`LogQLError` with Loki's wording for what Loki itself would reject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from stackctl.query.promql import Matcher

RANGE_FUNCTIONS = frozenset({"rate", "count_over_time", "bytes_over_time", "bytes_rate", "absent_over_time",
                             "sum_over_time", "avg_over_time", "max_over_time", "min_over_time", "first_over_time",
                             "last_over_time", "stdvar_over_time", "stddev_over_time", "quantile_over_time",
                             "rate_counter"})
AGGREGATIONS = frozenset({"sum", "avg", "min", "max", "stddev", "stdvar", "count", "topk", "bottomk", "sort", "sort_desc",
                          "approx_topk"})
_MATCHER = re.compile(r"""\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*(,|$)""")
_IDENT_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?=\(|\s+(?:by|without)\s*\()")
_RANGE = re.compile(r"\[\s*(?:(\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+|\$\{?\w+\}?)\s*\]")  # [5m], or a variable left in ($__auto)
_LINE_FILTER = re.compile(r"(\|=|!=|\|~|!~)\s*\"\x00(\d+)\"")
_STAGE = re.compile(r"\|\s*([a-z_]+)")
_BY = re.compile(r"\bby\s*\(([^)]*)\)")
_UNWRAP = re.compile(r"\|\s*unwrap\s+(?:(?:duration|duration_seconds|bytes)\()?([A-Za-z_][A-Za-z0-9_.]*)")
_LABEL_FILTER = re.compile(r"""\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|==|=)\s*("\x00\d+")""")


class LogQLError(ValueError):
    """The expression is not LogQL Loki would accept; ``str()`` says why."""


@dataclass(frozen=True)
class LogQuery:
    expr: str
    selectors: tuple[tuple[Matcher, ...], ...]
    metric: bool  # a metric query (returns numbers) rather than a log query (returns lines)
    functions: tuple[str, ...] = ()  # range functions and aggregations, outermost first
    ranges: tuple[str, ...] = ()  # the [range] durations written
    line_filters: int = 0
    stages: tuple[str, ...] = ()  # parser and formatting stages: json, logfmt, line_format...
    grouping: tuple[str, ...] = ()  # labels of the aggregations' ``by (...)`` clauses
    unwrap: str | None = None  # the label ``| unwrap`` turns into the sample value
    label_filters: tuple[Matcher, ...] = ()  # ``| level="error"`` style filters after a parser
    line_terms: tuple[tuple[str, str], ...] = ()  # the line filters: (``|=``/``!=``/``|~``/``!~``, its string)

    @property
    def labels(self) -> dict[str, str]:
        """The equality matchers of the first selector: the stream labels a writer must set."""
        return {m.label: m.value for m in (self.selectors[0] if self.selectors else ()) if m.op == "="}


def _strip_strings(expr: str) -> tuple[str, list[str]]:
    """``expr`` with every string literal replaced by ``"\\x00<n>"``; the literals in order."""
    out, literals, i = [], [], 0
    while i < len(expr):
        ch = expr[i]
        if ch in "\"`":
            j = i + 1
            while j < len(expr) and expr[j] != ch:
                j += 2 if ch == '"' and expr[j] == "\\" else 1
            if j >= len(expr):
                raise LogQLError(f"unterminated string literal at position {i}")
            literals.append(expr[i:j + 1])
            out.append(f'"\x00{len(literals) - 1}"')
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out), literals


def _unquote(literal: str) -> str:
    if literal.startswith("`"):
        return literal[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), literal[1:-1])


def _selector(body: str, literals: list[str]) -> tuple[Matcher, ...]:
    restored = re.sub(r'"\x00(\d+)"', lambda m: literals[int(m.group(1))], body)
    matchers, pos = [], 0
    while pos < len(restored.strip()):
        m = _MATCHER.match(restored, pos)
        if not m:
            raise LogQLError(f"parse error: unexpected {restored[pos:].strip()[:20]!r} in stream selector {{{restored}}}")
        matchers.append(Matcher(m.group(1), m.group(2), _unquote(m.group(3))))
        pos = m.end()
    if not matchers:
        raise LogQLError("queries require at least one regexp or equality matcher that does not have an empty-compatible value")
    if not any(mt.op in ("=", "=~") and not mt.matches("") for mt in matchers):
        raise LogQLError("queries require at least one regexp or equality matcher that does not have an empty-compatible value. "
                         "For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will")
    return tuple(matchers)


@lru_cache(maxsize=2048)
def parse(expr: str) -> LogQuery:
    """The :class:`LogQuery` of ``expr``; :class:`LogQLError` for what Loki would reject."""
    text, literals = _strip_strings(expr)
    selectors, depth, start = [], 0, -1
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
            start = i if depth == 1 else start
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise LogQLError("parse error: unbalanced '}'")
            if depth == 0:
                selectors.append(_selector(text[start + 1:i], literals))
    if depth != 0:
        raise LogQLError("parse error: unbalanced '{'")
    if not selectors:
        raise LogQLError("parse error: a LogQL query needs a stream selector such as {app=\"api\"}")
    if text.count("(") != text.count(")"):
        raise LogQLError("parse error: unbalanced parentheses")
    head = text[:text.index("{")]
    functions = tuple(f for f in _IDENT_CALL.findall(head) if f not in ("by", "without"))
    ranges = tuple(m.group(0)[1:-1].strip() for m in _RANGE.finditer(text))
    metric = bool(functions) or bool(ranges)
    if metric and not any(f in RANGE_FUNCTIONS for f in functions):
        raise LogQLError("parse error: a metric query needs a range aggregation such as count_over_time(... [5m])")
    if metric and not ranges:
        first = next(f for f in functions if f in RANGE_FUNCTIONS)
        raise LogQLError(f"parse error: {first}() needs a log range such as [5m] after its selector and pipeline")
    stages = tuple(s for s in _STAGE.findall(text) if s not in ("", "=", "unwrap") and not _is_label(s, text))
    grouping = tuple(dict.fromkeys(x.strip() for g in _BY.findall(text) for x in g.split(",") if x.strip()))
    unwrap = _UNWRAP.search(text)
    filters = tuple(Matcher(m.group(1), "=" if m.group(2) == "==" else m.group(2), _unquote(literals[int(m.group(3)[2:-1])]))
                    for m in _LABEL_FILTER.finditer(text))
    terms = _line_terms(text, literals)
    for op, term in terms:
        _check_regex(term, op, "line filter")
    for sel in selectors:
        for m in sel:
            if m.op in ("=~", "!~"):
                _check_regex(m.value, m.op, f"matcher {m.label}")
    return LogQuery(expr, tuple(selectors), metric, functions, ranges, len(terms), stages,
                    grouping, unwrap.group(1) if unwrap else None, filters, terms)


def _check_regex(pattern: str, op: str, where: str) -> None:
    """Loki compiles ``|~``/``=~`` patterns (RE2); one Python cannot compile is rejected too
    (RE2 is stricter still: no backreferences or lookarounds)."""
    if op not in ("|~", "!~", "=~"):
        return
    if re.search(r"\(\?[=!<]|\\[1-9]", pattern):
        raise LogQLError(f"parse error: {where} {op} {pattern!r}: RE2 has no lookaround or backreference")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise LogQLError(f"parse error: {where} {op} {pattern!r}: error parsing regexp: {exc}") from None


def _line_terms(text: str, literals: list[str]) -> tuple[tuple[str, str], ...]:
    """Line filters outside stream selectors; ``| status != "200"`` (a label name before the
    operator) is a label filter, not one of them."""
    out, depth, outside = [], 0, []
    for ch in text:  # blank the selectors' insides: their != are matchers
        depth += ch == "{"
        outside.append(ch if depth == 0 else " ")
        depth -= ch == "}" and depth > 0
    flat = "".join(outside)
    for m in _LINE_FILTER.finditer(flat):
        before = flat[:m.start()].rstrip()
        if before and (before[-1].isalnum() or before[-1] == "_"):
            continue
        out.append((m.group(1), _unquote(literals[int(m.group(2))])))
    return tuple(out)


def _is_label(word: str, text: str) -> bool:
    """``| level="error"``: a label filter, not a stage."""
    return re.search(r"\|\s*" + re.escape(word) + r"\s*(=~|!~|!=|==|=|>|<)", text) is not None


def stream_selectors(expr: str) -> list[tuple[Matcher, ...]]:
    return list(parse(expr).selectors)
