"""Template variable interpolation as Grafana's templateSrv does it.

Syntax: ``$var``, ``${var}``, ``${var:format}``, ``[[var]]``, ``[[var:format]]``. Unknown names
stay as written (Grafana leaves them too). Without a format, the datasource formats the value:
for Prometheus and Loki a single-value variable is inserted with only ``\\`` and ``'`` escaped;
a multi-value or include-All variable has each value regex-escaped for a PromQL string
(``.`` -> ``\\\\.``) and several values become ``(a|b)``. A custom ``allValue`` is inserted
as written. The named formats are Grafana's: ``regex pipe csv raw json doublequote singlequote
sqlstring glob lucene percentencode distributed queryparam text``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import quote

VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}")


@dataclass(frozen=True)
class Value:
    """A variable's selection: ``values`` (and their display ``texts``); ``all`` when "All" is
    selected, with ``custom_all`` the variable's ``allValue``; ``multi`` for multi-value or
    include-All variables (they are regex-formatted); ``reason`` when it has no values."""

    values: tuple[str, ...]
    texts: tuple[str, ...] = ()
    multi: bool = False
    all: bool = False
    custom_all: str | None = None
    reason: str | None = None

    @property
    def empty(self) -> bool:
        return not self.values and not (self.all and self.custom_all is not None)


def _regex_escape(value: str) -> str:
    return re.sub(r"[\\^$*+?.()|\[\]{}/]", lambda m: "\\" + m.group(0), value)


def _prom_regular(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\\\'")


def _prom_special(value: str) -> str:
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m.group(0), value.replace("\\", "\\\\\\\\"))


def datasource_format(v: Value) -> str:
    """Grafana's Prometheus/Loki ``interpolateQueryExpr``."""
    if not v.multi:
        return _prom_regular(v.values[0] if v.values else "")
    escaped = [_prom_special(x) for x in v.values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _lucene(value: str) -> str:
    return re.sub(r'([+\-=&|><!(){}\[\]^"~*?:\\/ ])', r"\\\1", value)


def apply_format(v: Value, fmt: str, name: str) -> str:
    values, multi = list(v.values), len(v.values) != 1
    one = values[0] if values else ""
    if fmt == "regex":
        escaped = [_regex_escape(x) for x in values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    if fmt == "pipe":
        return "|".join(values)
    if fmt in ("csv", "raw"):
        return ",".join(values)
    if fmt == "json":
        return json.dumps(values if multi else one)
    if fmt == "doublequote":
        return ",".join('"' + x.replace('"', '\\"') + '"' for x in values)
    if fmt == "singlequote":
        return ",".join("'" + x.replace("'", "\\'") + "'" for x in values)
    if fmt == "sqlstring":
        return ",".join("'" + x.replace("'", "''") + "'" for x in values)
    if fmt == "glob":
        return "{" + ",".join(values) + "}" if multi else one
    if fmt == "lucene":
        return "(" + " OR ".join('"' + _lucene(x) + '"' for x in values) + ")" if multi else _lucene(one)
    if fmt == "percentencode":
        return quote("{" + ",".join(values) + "}" if multi else one, safe="")
    if fmt == "distributed":
        return ",".join(values[:1] + [f"{name}={x}" for x in values[1:]])
    if fmt == "queryparam":
        return "&".join(f"var-{name}={quote(x, safe='')}" for x in values)
    if fmt == "text":
        return " + ".join(v.texts or v.values)
    return ",".join(values)  # unknown format: Grafana falls back to glob/raw-like output


def _date(ms: int, fmt: str) -> str:
    """``${__from:date:seconds}`` -> epoch seconds; ``:date``/``:date:iso`` -> ISO 8601 UTC."""
    kind = fmt.partition(":")[2]
    if kind == "seconds":
        return str(ms // 1000)
    if kind in ("", "iso"):
        return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return str(ms)  # a moment.js pattern: the raw value (nothing here formats those)


def interpolate(text: str, variables: Mapping[str, Value], default_format: str | None = None) -> str:
    """``text`` with every known variable replaced; ``default_format`` None: the datasource's."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6) or default_format
        v = variables.get(name)
        if v is None:
            return m.group(0)
        if m.group(5) and m.group(5) == "text":  # ${var.text}
            return " + ".join(v.texts or v.values)
        if fmt and fmt.startswith("date") and name in ("__from", "__to") and v.values:
            return _date(int(v.values[0]), fmt)
        if v.all and v.custom_all is not None and fmt not in ("text", "percentencode"):
            return v.custom_all
        if fmt is None:
            return datasource_format(v)
        return apply_format(v, fmt, name)

    return VARIABLE.sub(sub, text)


def names_in(text: str) -> list[str]:
    """The variable names ``text`` refers to, in order."""
    return [m.group(1) or m.group(2) or m.group(4) for m in VARIABLE.finditer(text)]
