"""Grafana's field overrides (``fieldConfig.overrides``) as far as the report draws them: per
series colour, display name, hidden series and the negative-Y transform, matched by name,
by regular expression or by query (refId).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from stackctl.report.colors import css


@dataclass(frozen=True)
class Style:
    color: str | None = None
    name: str | None = None
    hidden: bool = False
    negative: bool = False  # custom.transform: negative-Y


def _matches(matcher: Mapping[str, Any], name: str, ref_id: str) -> bool:
    kind, option = matcher.get("id"), matcher.get("options")
    if kind == "byName":
        return isinstance(option, str) and option == name
    if kind == "byRegexp" and isinstance(option, str):
        pattern = option[1:-1] if len(option) > 1 and option.startswith("/") and option.endswith("/") else option
        try:
            return re.search(pattern, name) is not None
        except re.error:
            return False
    if kind == "byFrameRefID":
        return option == ref_id
    return False


def _apply(style: dict[str, Any], prop: Mapping[str, Any]) -> None:
    pid, value = prop.get("id"), prop.get("value")
    if pid == "color" and isinstance(value, dict) and value.get("fixedColor") and value.get("mode") in ("fixed", "shades", None):
        style["color"] = css(value["fixedColor"])
    elif pid == "displayName" and isinstance(value, str) and value:
        style["name"] = value
    elif pid == "custom.hideFrom" and isinstance(value, dict):
        style["hidden"] = bool(value.get("viz"))
    elif pid == "custom.transform":
        style["negative"] = value == "negative-Y"


def style_for(overrides: Iterable[Any], name: str, ref_id: str) -> Style:
    """The overrides matching series ``name`` of query ``ref_id``, later ones winning."""
    style: dict[str, Any] = {}
    for rule in overrides:
        if not isinstance(rule, dict) or not isinstance(rule.get("matcher"), dict):
            continue
        if _matches(rule["matcher"], name, ref_id):
            for prop in rule.get("properties") or []:
                if isinstance(prop, dict):
                    _apply(style, prop)
    return Style(**style)
