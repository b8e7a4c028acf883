"""Grafana's value mappings (``fieldConfig.defaults.mappings``): a value shown as text, and
coloured, by exact value, by range, by special value (null, NaN, true/false, empty) or by a
regular expression over its text. The first matching mapping wins, as in Grafana.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

from stackctl.report.colors import css


@dataclass(frozen=True)
class Mapped:
    text: str | None  # None: keep the formatted value
    color: str | None


def _result(result: Any) -> Mapped | None:
    if not isinstance(result, dict):
        return None
    text = result.get("text")
    color = result.get("color")
    return Mapped(str(text) if text not in (None, "") else None, css(color) if color else None)


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _special(match: Any, value: float | None) -> bool:
    if match in ("null", "null+nan"):
        return value is None or (match == "null+nan" and math.isnan(value))
    if match == "nan":
        return value is not None and math.isnan(value)
    if match in ("true", "false"):
        return value is not None and (value != 0) == (match == "true")
    return False


def _one(mapping: dict[str, Any], value: float | None, shown: str) -> Mapped | None:
    kind, options = mapping.get("type"), mapping.get("options")
    if not isinstance(options, dict):
        return None
    if kind == "value":
        for key, result in options.items():
            number = _number(key)
            if value is not None and number is not None and number == value or key == shown:
                return _result(result)
    elif kind == "range" and value is not None and not math.isnan(value):
        lo, hi = _number(options.get("from")), _number(options.get("to"))
        if (lo is None or value >= lo) and (hi is None or value <= hi):
            return _result(options.get("result"))
    elif kind == "special" and _special(options.get("match"), value):
        return _result(options.get("result"))
    elif kind == "regex" and isinstance(options.get("pattern"), str):
        try:
            if re.search(options["pattern"], shown):
                return _result(options.get("result"))
        except re.error:
            return None
    return None


def mapped(mappings: Iterable[Any], value: float | None, shown: str) -> Mapped | None:
    """The first mapping that matches ``value`` (``shown``: its formatted text), if any."""
    for mapping in mappings:
        if isinstance(mapping, dict):
            hit = _one(mapping, value, shown)
            if hit is not None:
                return hit
    return None
