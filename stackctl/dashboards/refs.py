"""Datasource references as the dashboard model reads them, resolved to the plugin type they name
(the provisioned datasources themselves, for validation, are :mod:`stackctl.dashboards.datasources`):
``{"type", "uid"}``, a uid alone, a name string (the legacy form), an export input
``${DS_X}`` (its ``pluginId``), a datasource variable ``$ds`` (its plugin type),
``-- Mixed --``, ``-- Grafana --``, ``-- Dashboard --``, or nothing (the default datasource,
Prometheus in the stack). An unknown name or uid is typed from its name (``thanos-eu``) or
the query it carries (``expr``: PromQL, ``rawSql``: SQL), marked ``guessed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

# Datasource types the stack runs, so their queries can be checked, seeded and rendered.
STACK_TYPES = frozenset({"prometheus", "loki"})
_VAR_REF = re.compile(r"^\$\{?(\w+)(?::\w+)?\}?$")
INPUT_REF = re.compile(r"^\$\{(DS_\w+|VAR_\w+)\}$")
_BUILTIN = {"-- mixed --": "mixed", "-- grafana --": "grafana", "grafana": "grafana", "-- dashboard --": "dashboard"}
_NAME_HINTS = (("loki", "loki"), ("prom", "prometheus"), ("thanos", "prometheus"), ("mimir", "prometheus"),
               ("cortex", "prometheus"), ("victoria", "prometheus"))


@dataclass(frozen=True)
class Datasource:
    """A datasource reference, resolved to a plugin ``type``.

    ``type``: the plugin (``prometheus``, ``loki``, ``postgres``...), or ``mixed``, ``grafana``,
    ``dashboard``; ``default`` is True when the dashboard names none (Grafana's default
    datasource: Prometheus in the stack). ``variable``/``input`` name the datasource variable or
    export input it was written as. ``guessed`` is True when only a name or an unknown uid was
    given and the type comes from the name (``"Prometheus"``, ``"thanos-eu"``) or the query.
    """

    type: str
    uid: str | None = None
    name: str | None = None
    variable: str | None = None
    input: str | None = None
    default: bool = False
    guessed: bool = False

    @property
    def in_stack(self) -> bool:
        return self.type in STACK_TYPES

    @property
    def not_found(self) -> str | None:
        """The name or uid written when it is none of the stack's datasources, or an export
        placeholder ``${DS_X}`` no ``__inputs`` entry maps: Grafana shows "Datasource X was not
        found" (a datasource variable is resolved elsewhere)."""
        if not self.guessed or self.variable:
            return None
        if self.type in STACK_TYPES and not self.input:
            return None  # another Grafana's name or uid of a Prometheus/Loki: provisioning adopts it (adoptable_type)
        if self.input:  # an export placeholder with no __inputs entry stays as written
            return f"${{{self.input}}}" if self.input.startswith("DS_") else None
        return self.name or self.uid


DEFAULT_DATASOURCE = Datasource("prometheus", "prometheus", default=True)


@dataclass(frozen=True)
class Context:
    inputs: Mapping[str, str]  # DS_X -> pluginId
    ds_variables: Mapping[str, str]  # variable name -> plugin type


def _guess(text: str, query: Mapping[str, Any] | None) -> str | None:
    low = text.lower()
    for hint, kind in _NAME_HINTS:
        if hint in low:
            return kind
    if query is not None:
        if any(k in query for k in ("rawSql", "rawQuery", "sql")):
            return "sql"
        if isinstance(query.get("expr"), str):
            return "loki" if query["expr"].lstrip().startswith("{") and "|" in query["expr"] else "prometheus"
    return None


def adoptable_type(ref: Any, node: Mapping[str, Any]) -> str | None:
    """The stack type (prometheus, loki) that an unprovisioned datasource name or uid in ``node``
    (a panel, target, variable or annotation) stands for: another Grafana's name for its
    Prometheus ("prometheus-k8s", "Postgres Overview" over PromQL), typed from the name or from
    the queries it carries. Provisioning points it at the stack's datasource, as it does for
    another Grafana's uid; None for builtins, variables, export inputs, the stack's own names,
    and anything not evidently Prometheus or Loki (a SQL query, no query at all)."""
    if isinstance(ref, dict):
        if ref.get("type") or not isinstance(ref.get("uid"), str):
            return None
        ref = ref["uid"]
    if not isinstance(ref, str):
        return None
    low = ref.strip().lower()
    if low in ("", "default", "alertmanager") or low in _BUILTIN or low in STACK_TYPES \
            or INPUT_REF.match(ref.strip()) or _VAR_REF.match(ref.strip()):
        return None
    targets: list[Any] = node["targets"] if isinstance(node.get("targets"), list) else []
    queries = [node, *(t for t in targets if isinstance(t, dict) and t.get("datasource") in (None, ""))]
    if node.get("type") == "query":  # a query variable: its query is the expression (a string, or {"query": ...})
        text = node.get("query")
        text = text.get("query") if isinstance(text, dict) else text
        queries = [{"expr": text}] if isinstance(text, str) and text.strip() else []
    kinds = {_guess(ref, q) for q in queries if isinstance(q.get("expr"), str) or any(k in q for k in ("rawSql", "rawQuery", "sql"))}
    kinds = kinds or {_guess(ref, None)}
    kind = kinds.pop() if len(kinds) == 1 else None
    return kind if kind in STACK_TYPES else None


def _by_text(text: str, ctx: Context, query: Mapping[str, Any] | None, uid: str | None = None, name: str | None = None) -> Datasource:
    """A uid or name written as text: builtin, export input, variable, stack uid, or a name."""
    low = text.strip().lower()
    if low in _BUILTIN:
        return Datasource(_BUILTIN[low], text, name)
    if m := INPUT_REF.match(text.strip()):
        plugin = ctx.inputs.get(m.group(1))
        return Datasource(plugin or _guess(m.group(1), query) or "unknown", None, input=m.group(1), guessed=plugin is None)
    if m := _VAR_REF.match(text.strip()):
        plugin = ctx.ds_variables.get(m.group(1))
        return Datasource(plugin or _guess("", query) or "unknown", None, variable=m.group(1), guessed=plugin is None)
    if low in ("default", ""):
        return Datasource(DEFAULT_DATASOURCE.type, DEFAULT_DATASOURCE.uid, default=True)
    if low in STACK_TYPES or low == "alertmanager":  # the stack's fixed uids and names
        return Datasource(low, uid or low, name)
    return Datasource(_guess(text, query) or "unknown", uid, name, guessed=True)


def datasource_of(raw: Any, ctx: Context, query: Mapping[str, Any] | None = None, inherit: Datasource | None = None) -> Datasource:
    """The :class:`Datasource` a reference names; ``inherit`` when it names none."""
    if raw is None or raw == "" or (isinstance(raw, dict) and not raw.get("uid") and not raw.get("type")):
        return inherit if inherit is not None else DEFAULT_DATASOURCE
    if isinstance(raw, dict):
        uid, type_ = str(raw.get("uid") or ""), str(raw.get("type") or "")
        if uid and (INPUT_REF.match(uid) or _VAR_REF.match(uid) or uid.lower() in _BUILTIN):
            found = _by_text(uid, ctx, query)
            return found if found.type != "unknown" or not type_ else Datasource(type_, None, variable=found.variable, input=found.input)
        if type_ == "datasource":  # {"type": "datasource", "uid": "grafana"}: a Grafana builtin
            return Datasource(_BUILTIN.get(uid.lower(), uid or "grafana"), uid)
        if type_:
            return Datasource(type_, uid or None)
        return _by_text(uid, ctx, query, uid=uid)
    return _by_text(str(raw), ctx, query, name=str(raw))
