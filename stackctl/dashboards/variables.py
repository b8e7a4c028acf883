"""Template variables resolved as Grafana resolves them on dashboard load, against a live Prometheus.

Order: a variable whose query, regex or datasource names another is resolved after it (Grafana
refreshes chained variables in dependency order). Kinds:

* ``query`` (Prometheus datasource): ``label_names()``, ``label_values(label)``,
  ``label_values(selector, label)`` (``/api/v1/label/<l>/values?match[]=``), ``metrics(re)``,
  ``query_result(expr)`` (an instant query at the range's end, each series as Grafana prints
  it: ``name{a="b"} value ts``), anything else a series query (``/api/v1/series``); then the
  variable's ``regex`` (a capture group, or groups named ``text``/``value``) and ``sort``;
* ``custom`` (``a,b,c`` or ``text : value`` pairs), ``constant``, ``textbox``, ``interval``
  (with its ``auto`` option), ``datasource`` (the stack's datasource of that type).

Selection: the saved ``current`` values that are still options, else the first option (All when
``includeAll``). With no reader (offline), query variables keep their saved options and
selection. A variable that ends with no values carries the real reason in ``Value.reason``.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Mapping, Protocol, Sequence

from stackctl.dashboards.formats import Value, interpolate
from stackctl.dashboards.model import Dashboard, Variable
from stackctl.dashboards.timing import TimeRange, format_interval, parse_duration, query_interval
from stackctl.errors import StackctlError
from stackctl.query.prometheus import Sample

ALL = "$__all"
STACK_DATASOURCES = {"prometheus": ("Prometheus", "prometheus"), "loki": ("Loki", "loki"),
                     "alertmanager": ("Alertmanager", "alertmanager")}
Options = list[tuple[str, str]]  # (text, value)


class Reader(Protocol):
    """What variable resolution reads; :class:`stackctl.query.prometheus.Prometheus` is one."""

    def label_values(self, label: str, start: float, end: float, match: Sequence[str] = ()) -> list[str]: ...
    def label_names(self, start: float, end: float, match: Sequence[str] = ()) -> list[str]: ...
    def series(self, match: Sequence[str], start: float, end: float) -> list[dict[str, str]]: ...
    def query(self, expr: str, time: float) -> tuple[list[Sample] | str | None, str | None]: ...


_LABEL_VALUES = re.compile(r"^label_values\((?:(.+),\s*)?([a-zA-Z_$][\w$]*)\s*\)\s*$", re.S)
_LABEL_NAMES = re.compile(r"^label_names\((.*)\)\s*$", re.S)
_METRICS = re.compile(r"^metrics\((.*)\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^query_result\((.+)\)\s*$", re.S)


def dependency_order(variables: Sequence[Variable]) -> list[Variable]:
    """Variables ordered so each comes after the ones it references (stable; cycles keep order)."""
    by_name = {v.name: v for v in variables}
    done: list[Variable] = []
    seen: set[str] = set()

    def visit(v: Variable, path: tuple[str, ...]) -> None:
        if v.name in seen or v.name in path:
            return
        for dep in sorted(v.references()):
            if dep in by_name:
                visit(by_name[dep], (*path, v.name))
        seen.add(v.name)
        done.append(v)

    for v in variables:
        visit(v, ())
    return done


# -- query variables -------------------------------------------------------------------------

def _series_text(labels: Mapping[str, str]) -> str:
    rest = ",".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
    return f"{labels.get('__name__', '')}{{{rest}}}"


def _run_query(query: str, reader: Reader, tr: TimeRange) -> tuple[list[str], str]:
    """The raw values of a Prometheus variable query, and why there are none."""
    q = query.strip()
    if m := _LABEL_VALUES.match(q):
        match, label = (m.group(1) or "").strip(), m.group(2)
        values = reader.label_values(label, tr.start, tr.end, [match] if match else [])
        if values or not match:
            return values, f"no series has a label `{label}`"
        has_series = bool(reader.series([match], tr.start, tr.end))
        return [], (f"the series of `{match}` have no label `{label}`" if has_series else f"no series of `{match}`")
    if m := _LABEL_NAMES.match(q):
        match = m.group(1).strip()
        return reader.label_names(tr.start, tr.end, [match] if match else []), "no label names"
    if m := _METRICS.match(q):
        pattern = m.group(1).strip()
        names = reader.label_values("__name__", tr.start, tr.end)
        compiled = _js_regex(pattern) if pattern else None
        return [n for n in names if compiled is None or compiled.search(n)], f"no metric name matches `{pattern}`"
    if m := _QUERY_RESULT.match(q):
        expr = m.group(1).strip()
        result, error = reader.query(expr, tr.end)
        if error is not None:
            return [], f"query_result({expr}) failed: {error}"
        if isinstance(result, str) or result is None:
            return ([result] if result else []), f"`{expr}` returned nothing"
        out = [f"{_series_text(s.labels)} {s.value} {int(s.time * 1000)}" for s in result]
        return out, f"`{expr}` returned no series"
    return [_series_text(s) for s in reader.series([q], tr.start, tr.end)], f"no series of `{q}`"


def js_pattern(text: str) -> str | None:
    """A Grafana (JavaScript) regex as a Python pattern (flags dropped); None when invalid."""
    compiled = _js_regex(text)
    return compiled.pattern if compiled is not None else None


def _js_regex(text: str) -> re.Pattern[str] | None:
    """A Grafana (JavaScript) regex: ``/pattern/flags`` or a bare pattern; None when invalid."""
    pattern, flags = text, 0
    m = re.fullmatch(r"/(.*)/([gimsuy]*)", text, re.S)
    if m:
        pattern = m.group(1)
        flags = (re.I if "i" in m.group(2) else 0) | (re.S if "s" in m.group(2) else 0) | (re.M if "m" in m.group(2) else 0)
    try:
        return re.compile(re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern), flags)
    except re.error:
        return None


def apply_regex(values: Iterable[str], regex: str) -> Options:
    """Grafana's variable regex: keep matching values; a capture group (or ``text``/``value``
    named groups) picks what is shown and used. Deduplicated, in order."""
    compiled = _js_regex(regex) if regex else None
    out: dict[str, str] = {}
    for raw in values:
        if compiled is None:
            out.setdefault(raw, raw)
            continue
        m = compiled.search(raw)
        if not m:
            continue
        groups = m.groupdict()
        if groups.get("value") is not None or groups.get("text") is not None:
            value = groups.get("value") or groups.get("text") or ""
            text = groups.get("text") or value
        elif m.groups():
            value = text = next((g for g in m.groups() if g is not None), "")
        else:
            value = text = raw
        out.setdefault(value, text)
    return [(text, value) for value, text in out.items()]


def _number(text: str) -> float:
    m = re.search(r"(\d+)", text)
    return float(m.group(1)) if m else -1.0


def _natural(text: str) -> list[object]:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", text)]


def sort_options(options: Options, sort: int) -> Options:
    """Grafana's sort: 1/2 alphabetical, 3/4 numerical, 5/6 case-insensitive, 7/8 natural."""
    keys: dict[int, Callable[[tuple[str, str]], object]] = {
        1: lambda o: o[0], 3: lambda o: _number(o[0]), 5: lambda o: o[0].lower(), 7: lambda o: _natural(o[0])}
    if sort <= 0 or sort > 8:
        return options
    key = keys[sort - 1 + (sort % 2)]
    return sorted(options, key=key, reverse=sort % 2 == 0)  # type: ignore[arg-type]


# -- the other kinds -------------------------------------------------------------------------

def custom_options(query: str) -> Options:
    """``a, b, c`` (``\\,`` escapes a comma) and ``text : value`` pairs."""
    out: Options = []
    for part in re.findall(r"(?:\\,|[^,])+", query):
        item = part.strip().replace("\\,", ",")
        if not item:
            continue
        text, sep, value = item.partition(" : ")
        out.append((text.strip(), value.strip()) if sep else (item, item))
    return out


def _interval_options(v: Variable, tr: TimeRange) -> Options:
    options = [(x, x) for x in (i.strip() for i in v.query.split(",")) if x]
    if v.auto:
        auto = query_interval(tr, v.auto_count, parse_duration(v.auto_min) or 10.0)
        options.insert(0, ("auto", format_interval(auto)))
    return options


def _select(v: Variable, options: Options) -> tuple[Options, bool]:
    """The selected options, and whether "All" is selected."""
    if not options:
        return [], v.include_all and (ALL in v.current or not v.current)
    saved = set(v.current)
    if v.include_all and (ALL in saved or "All" in v.current_text and not saved - {ALL, "All"}):
        return options, True
    chosen = [o for o in options if o[1] in saved] or [o for o in options if o[0] in set(v.current_text)]
    if v.type == "interval" and "auto" in v.current_text and options[0][0] == "auto":
        chosen = [options[0]]
    if not chosen:  # a stale saved value: Grafana selects the first option
        return (options, True) if v.include_all else ([options[0]], False)
    return (chosen if v.multi else chosen[:1]), False


def _value(v: Variable, options: Options, reason: str) -> Value:
    chosen, all_ = _select(v, options)
    multi = v.multi or v.include_all
    if not chosen and not (all_ and v.all_value is not None):
        return Value((), (), multi, all_, v.all_value, f"variable `{v.name}` has no values: {reason}")
    return Value(tuple(o[1] for o in chosen), tuple(o[0] for o in chosen), multi, all_, v.all_value)


def _saved_value(v: Variable) -> Value:
    """Offline: the saved options and selection (Grafana's saved state, before it refreshes)."""
    options = list(v.options) if v.options else [(t, c) for t, c in zip(v.current_text or v.current, v.current)]
    options = [o for o in options if o[1] != ALL]
    if not options and v.include_all and (ALL in v.current or not v.current):
        return Value((), ("All",), True, True, v.all_value if v.all_value is not None else ".*")
    return _value(v, options, "none saved in the dashboard (not resolved against Prometheus)")


def options_for(v: Variable, reader: Reader | None, tr: TimeRange, known: Mapping[str, Value],
                macros: Mapping[str, str]) -> tuple[Options, str] | None:
    """The variable's options and why they are empty; None when it cannot be resolved here."""
    # $__searchFilter: what the user typed in the drop-down; on load nothing, so "match anything"
    scope = {**{k: Value((x,)) for k, x in macros.items()}, "__searchFilter": Value((".*",)), **known}
    if v.type == "custom":
        return custom_options(interpolate(v.query, scope, "raw")), "no values listed in the variable"
    if v.type == "constant":
        return [(v.query, v.query)], "empty constant"
    if v.type == "textbox":
        text = v.current[0] if v.current else v.query
        return [(text, text)], "empty textbox"
    if v.type == "interval":
        return _interval_options(v, tr), "no intervals listed"
    if v.type == "datasource":
        found = STACK_DATASOURCES.get(v.query)
        options = apply_regex([found[0]], v.regex) if found else []
        return [(t, found[1]) for t, _ in options] if found else [], f"the stack has no {v.query or '?'} datasource"
    if v.type != "query" or reader is None or (v.datasource is not None and v.datasource.type != "prometheus"):
        return None
    if v.raw.get("refresh") == 0 and v.options:  # "Never": Grafana keeps the saved options
        return None
    try:
        raw, reason = _run_query(interpolate(v.query, scope), reader, tr)
    except StackctlError as exc:
        return [], f"its query failed: {exc.message}"
    options = sort_options(apply_regex(raw, v.regex), v.sort)
    if raw and not options:
        reason = f"the regex {v.regex} matches none of the {len(raw)} values"
    return options, reason


def resolve_variables(dashboard: Dashboard, reader: Reader | None, tr: TimeRange,
                      macros: Mapping[str, str] | None = None) -> dict[str, Value]:
    """Every variable's selection, by name, resolved in dependency order."""
    values: dict[str, Value] = {}
    for v in dependency_order(dashboard.variables):
        if v.type == "adhoc":
            continue  # ad hoc filters add matchers in Grafana; an unset one changes nothing
        found = options_for(v, reader, tr, values, macros or {})
        values[v.name] = _saved_value(v) if found is None else _value(v, *found)
        if v.type == "interval" and v.auto and found and found[0] and found[0][0][0] == "auto":
            auto = found[0][0][1]  # legacy dashboards write the auto value as $__auto_interval_<name>
            values[f"__auto_interval_{v.name}"] = Value((auto,), (auto,))
    return values
