"""Log streams for the dashboards' LogQL queries: what ``seed --from`` writes to Loki.

Each LogQL target (variables replaced as Grafana would on first load) becomes the stream its
selector selects: the ``=`` matchers' labels, a value matching each ``=~``; lines that pass its
line filters (``|= "text"`` in the message, ``|~`` a matching word); the parser it names
(``| json`` or ``| logfmt``: the line format), the fields its label filters, ``unwrap`` and
``by (...)`` read after that parser. A ``$var`` listed by a Prometheus ``label_values`` takes
the first value the synthesized metric has (what Grafana selects first); any other variable
a placeholder the stream itself carries. Targets that need the same labels share one stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from stackctl.dashboards.variables import apply_regex, sort_options
from stackctl.query.logql import LogQLError, LogQuery, parse
from stackctl.query.promql import Matcher
from stackctl.seeding.synth.labels import alternatives
from stackctl.seeding.synth.model import SynthModel

LEVELS = ("debug", "info", "warn", "error")  # what the log generator writes (scenario LogMessage.level)
_ALIASES = {"warning": "warn", "err": "error", "critical": "error", "fatal": "error", "crit": "error", "trace": "debug",
            "information": "info", "notice": "info"}
_VAR = re.compile(r"\$\{(\w+)(?::[\w-]+)?\}|\$(\w+)|\[\[(\w+)(?::[\w-]+)?\]\]")
_RANGE_MACROS = {"__interval", "__rate_interval", "__range", "__auto", "__interval_ms", "__range_s"}
_METRIC = re.compile(r"^\s*([A-Za-z_:][\w:]*)")
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
_NUMBERS = {"": ["0.05", "0.12", "0.3", "0.8"], "duration": ["45ms", "120ms", "350ms", "1.2s"],
            "duration_seconds": ["0.045", "0.12", "0.35", "1.2"], "bytes": ["512B", "12KB", "340KB", "2MB"]}


@dataclass(frozen=True)
class Listed:
    """A query variable: ``label_values(expr, label)`` when it reads Prometheus (else ``expr`` is
    None), with its ``sort``, ``regex`` and saved selection."""

    expr: str | None
    label: str
    sort: int = 0
    regex: str = ""
    current: tuple[str, ...] = ()


@dataclass
class LogTarget:
    """One LogQL target of a dashboard panel, with what its variables resolve from."""

    expr: str
    source: str
    values: dict[str, str] = field(default_factory=dict)  # static variables (custom, textbox, ...)
    listed: dict[str, Listed] = field(default_factory=dict)  # query variables


def level_of(spelled: str) -> str | None:
    """The generator's level for a level as an app spells it (``ERROR``, ``Warning``), or None."""
    low = spelled.lower()
    return low if low in LEVELS else _ALIASES.get(low)


@dataclass
class _Stream:
    labels: dict[str, str]
    levels: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)  # level -> its spelling (level_names)
    fmt: str | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)  # what the lines must contain
    sources: set[str] = field(default_factory=set)


def _resolve(var: Listed, t: LogTarget, model: SynthModel, depth: int) -> str | None:
    """The value Grafana selects: the saved one if the options hold it, else the first option
    (the synthesized metric's values of the label, filtered, regex'd and sorted as Grafana does)."""
    saved = [c for c in var.current if c not in ("", "$__all")]
    if var.expr is None:  # a Loki label variable: its options come from the streams written here
        return saved[0] if saved else None
    expr = _substituted(var.expr, t, model, depth + 1)
    m = _METRIC.match(expr)
    metric = model.metrics.get(m.group(1)) if m else None
    if metric is None:
        return None
    wanted = [(k, op, v) for k, op, v in _MATCHER.findall(expr)]
    found = sorted({s.labels[var.label] for s in metric.series if s.labels.get(var.label)
                    and all(_holds(s.labels.get(k, ""), op, v) for k, op, v in wanted)})
    options = [value for _text, value in sort_options(apply_regex(found, var.regex), var.sort)]
    return next((c for c in saved if c in options), options[0] if options else None)


def _holds(have: str, op: str, want: str) -> bool:
    try:
        hit = have == want if op in ("=", "!=") else re.fullmatch(want, have) is not None
    except re.error:
        return True
    return hit if op in ("=", "=~") else not hit


def _substituted(text: str, t: LogTarget, model: SynthModel, depth: int = 0) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        if name in _RANGE_MACROS:
            return "5m"
        if name in t.values:
            return t.values[name].split("|")[0]
        var = t.listed.get(name)
        found = _resolve(var, t, model, depth) if var is not None and depth < 5 else None
        return found if found is not None else f"{name}-1"

    return _VAR.sub(sub, text)


def substitute(t: LogTarget, model: SynthModel) -> str:
    """``t.expr`` with every variable replaced by the one value Grafana would put there."""
    return _substituted(t.expr, t, model)


def _sample(regex: str) -> str | None:
    """A value ``regex`` fully matches: its first literal alternative, or the regex without its
    wildcards (``api-.*`` -> ``api-``, ``.+`` -> ``x``)."""
    options = alternatives(regex) + [re.sub(r"\.[*+?]|[\^$()]", "", regex) or "x", "x"]
    for candidate in options:
        try:
            if candidate and re.fullmatch(regex, candidate):
                return candidate
        except re.error:
            return None
    return None


def _search_sample(regex: str) -> str | None:
    for candidate in alternatives(regex) + [re.sub(r"\.[*+?]|[\^$()\\]", " ", regex).strip(), regex]:
        try:
            if candidate and re.search(regex, candidate):
                return candidate
        except re.error:
            return None
    return None


def _labels(q: LogQuery, notes: list[str], source: str, spelled: dict[str, str]) -> tuple[dict[str, str], set[str]] | None:
    """The stream labels: per label, a value every matcher on it accepts (``=`` its value, ``=~``
    a sample of its regex); ``level`` is the generator's own, one of LEVELS."""
    labels: dict[str, str] = {}
    levels: set[str] = set()
    by_label: dict[str, list[Matcher]] = {}
    for m in q.selectors[0]:
        by_label.setdefault(m.label, []).append(m)
    for label, ms in by_label.items():
        candidates = [m.value if m.op == "=" else _sample(m.value) for m in ms if m.op in ("=", "=~")]
        value = next((c for c in candidates if c is not None and all(m.matches(c) for m in ms)), None)
        if value == "" or not candidates:
            continue  # only negative matchers (or an empty value: the label absent)
        if value is None:
            notes.append(f"{source}: no value of {label} passes all of " + ", ".join(f"{m.op}{m.value!r}" for m in ms)
                         + ": the label is left out")
            continue
        if label == "level":
            level = level_of(value)
            if level is None:
                notes.append(f"{source}: level {value!r} is none of {', '.join(LEVELS)} (or their usual spellings)")
                return None
            for one in [value] + [a for m in ms if m.op == "=~" for a in alternatives(m.value)]:
                if level_of(one) is not None and all(m.matches(one) for m in ms):
                    levels.add(str(level_of(one)))
                    spelled[str(level_of(one))] = one
            continue
        labels[label] = value
    return labels, levels


def _stream_of(t: LogTarget, model: SynthModel, notes: list[str]) -> _Stream | None:
    text = substitute(t, model)
    try:
        q = parse(text)
    except LogQLError as exc:
        notes.append(f"{t.source}: not LogQL ({exc}): {t.expr.strip()[:120]}")
        return None
    spelled: dict[str, str] = {}
    got = _labels(q, notes, t.source, spelled)
    if got is None:
        return None
    labels, levels = got
    if not labels:
        notes.append(f"{t.source}: its selector names no label value to write: {t.expr.strip()[:120]}")
        return None
    st = _Stream(labels, levels, spelled, sources={t.source})
    st.fmt = "logfmt" if "logfmt" in q.stages else "json" if ("json" in q.stages or "unpack" in q.stages) else None
    for op, term in q.line_terms:
        word = term if op == "|=" else _search_sample(term) if op == "|~" else None
        if word:
            st.words.append(word)
        elif op == "|~" and word is None:
            notes.append(f"{t.source}: no line found for |~ {term!r}")
    parsed = st.fmt is not None
    for m in q.label_filters:
        if m.label == "__error__" or m.op in ("!=", "!~"):
            continue
        value = m.value if m.op == "=" else _sample(m.value)
        level = level_of(value) if m.label == "level" and value is not None else None
        if level is not None:
            st.levels.add(level)
            st.names[level] = str(value)
        elif value is not None and parsed and m.label not in labels:
            st.fields[m.label] = [value]
    if q.unwrap and parsed:
        kind = re.search(r"unwrap\s+(duration_seconds|duration|bytes)\(", text)
        st.fields[q.unwrap] = list(_NUMBERS[kind.group(1) if kind else ""])
    for name in q.grouping:
        if name not in labels and name != "level":
            if parsed:
                st.fields.setdefault(name, [f"{name}-1", f"{name}-2"])
            else:
                labels[name] = f"{name}-1"
    return st


def _merge(streams: Iterable[_Stream]) -> list[_Stream]:
    out: dict[tuple[tuple[str, str], ...], _Stream] = {}
    for s in streams:
        key = tuple(sorted(s.labels.items()))
        have = out.get(key)
        if have is None:
            out[key] = s
            continue
        have.levels |= s.levels
        have.names.update(s.names)
        have.fmt = have.fmt or s.fmt
        for k, v in s.fields.items():
            have.fields.setdefault(k, v)
        have.words += [w for w in s.words if w not in have.words]
        have.sources |= s.sources
    return list(out.values())


def _yaml(s: _Stream) -> dict[str, Any]:
    levels = sorted(s.levels, key=LEVELS.index) or ["info", "warn", "error"]
    weights = {"debug": 5, "info": 80, "warn": 10, "error": 5}
    placeholders = " ".join(f"{k}={{{k}}}" for k in s.fields)
    words = " ".join(w.replace("{", "{{").replace("}", "}}") for w in s.words)
    messages = [{"level": lvl, "template": " ".join(x for x in (f"{lvl} request handled", words, placeholders) if x)}
                for lvl in levels]
    doc: dict[str, Any] = {"labels": dict(sorted(s.labels.items())), "rate": 1.0,
                           "levels": {lvl: weights[lvl] for lvl in levels}, "messages": messages}
    if s.fmt:
        doc["format"] = s.fmt
    names = {k: v for k, v in s.names.items() if v != k}
    if names:
        doc["level_names"] = names
    if s.fields:
        doc["fields"] = dict(s.fields)
    return doc


def log_streams(targets: Iterable[LogTarget], model: SynthModel) -> tuple[list[dict[str, Any]], list[str]]:
    """The scenario's ``logs:`` entries for ``targets``, and what could not be written (why)."""
    notes: list[str] = []
    streams = [s for s in (_stream_of(t, model, notes) for t in targets) if s is not None]
    return [_yaml(s) for s in _merge(streams)], list(dict.fromkeys(notes))


