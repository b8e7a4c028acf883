"""Datasource references in a dashboard, resolved as Grafana resolves them.

A reference is ``null`` (the default datasource), a string (a uid, a name, a ``$variable``,
an export ``${DS_X}`` input, or a built-in such as ``-- Grafana --``) or an object
``{"type": ..., "uid": ...}``. Grafana looks a uid up first, then a name; a variable resolves
to whatever datasource of its type the user picks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal

from stackctl.dashboards.refs import adoptable_type

Severity = Literal["error", "warning"]
# Built-in "datasources" every Grafana has, by the uid or name a dashboard may use.
BUILTIN = {"grafana": "grafana", "-- grafana --": "grafana", "-- mixed --": "mixed", "-- dashboard --": "dashboard",
           "__expr__": "__expr__", "-- expression --": "__expr__"}
# Datasource types whose foreign uids are mapped to the stack's own at provisioning (type -> uid).
ADOPTED_TYPES = {"prometheus": "prometheus", "loki": "loki", "alertmanager": "alertmanager"}
_VAR_RE = re.compile(r"^\$\{([A-Za-z0-9_.]+)(?::[A-Za-z]+)?\}$|^\$([A-Za-z0-9_]+)$|^\[\[([A-Za-z0-9_]+)(?::[A-Za-z]+)?\]\]$")


@dataclass(frozen=True)
class Datasource:
    uid: str
    name: str
    type: str
    default: bool = False


@dataclass(frozen=True)
class Datasources:
    """The datasources Grafana will have: the ones the stack provisions."""

    items: tuple[Datasource, ...] = ()

    @classmethod
    def from_provisioning(cls, docs: Iterable[Any]) -> Datasources:
        """From parsed ``provisioning/datasources/*.yml`` documents (malformed entries are skipped:
        the provisioning check reports them)."""
        found: list[Datasource] = []
        for doc in docs:
            entries = doc.get("datasources") if isinstance(doc, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("type"), str) and isinstance(entry.get("name"), str):
                    uid = entry.get("uid")
                    found.append(Datasource(str(uid) if uid else entry["name"], entry["name"], entry["type"], bool(entry.get("isDefault"))))
        return cls(tuple(found))

    def by_uid(self, uid: str) -> Datasource | None:
        return next((d for d in self.items if d.uid == uid), None)

    def by_name(self, name: str) -> Datasource | None:
        return next((d for d in self.items if d.name == name), None)

    def default(self) -> Datasource | None:
        return next((d for d in self.items if d.default), self.items[0] if len(self.items) == 1 else None)

    def has_type(self, ds_type: str) -> bool:
        return any(d.type == ds_type for d in self.items)

    def types(self) -> list[str]:
        return sorted({d.type for d in self.items})

    def describe(self) -> str:
        return ", ".join(f"{d.uid} ({d.type})" for d in self.items) or "none"


@dataclass(frozen=True)
class RefContext:
    datasources: Datasources
    variables: dict[str, str]  # datasource variable name -> the plugin type it lists
    other_variables: frozenset[str]
    inputs: dict[str, str]  # export __inputs name -> pluginId

    @classmethod
    def of(cls, data: dict[str, Any], datasources: Datasources) -> RefContext:
        variables: dict[str, str] = {}
        others: set[str] = set()
        templating = data.get("templating")
        items = templating.get("list") if isinstance(templating, dict) else None
        for var in items if isinstance(items, list) else []:
            if isinstance(var, dict) and isinstance(var.get("name"), str):
                if var.get("type") == "datasource":
                    variables[var["name"]] = str(var.get("query") or "")
                else:
                    others.add(var["name"])
        inputs = {str(i.get("name")): str(i.get("pluginId", "")) for i in data.get("__inputs") or []
                  if isinstance(i, dict) and i.get("type") == "datasource"} if isinstance(data.get("__inputs"), list) else {}
        return cls(datasources, variables, frozenset(others), inputs)


@dataclass(frozen=True)
class Resolved:
    type: str | None  # the datasource type the reference ends up at, when known
    kind: str = "datasource"  # datasource | mixed | grafana | dashboard | __expr__ | variable | unknown
    problems: tuple[tuple[Severity, str], ...] = field(default_factory=tuple)


def check_ref(ref: Any, ctx: RefContext, node: dict[str, Any] | None = None) -> Resolved:
    """What ``ref`` (in ``node``: a panel, target, variable or annotation) resolves to among the
    provisioned datasources, with the problems Grafana would have with it."""
    # Grafana's datasource service reads the name "default" as the default datasource
    # (legacy exports, e.g. grafana.com dashboards saved before schema 33, write it)
    if ref is None or ref == "" or ref == "default":
        default = ctx.datasources.default()
        if default is None:
            return Resolved(None, "unknown", (("warning", "no datasource named and no default datasource is provisioned"),))
        return Resolved(default.type)
    adopted = adoptable_type(ref, node) if node is not None else None
    if adopted is not None and ctx.datasources.by_uid(str(ref.get("uid") if isinstance(ref, dict) else ref)) is None \
            and ctx.datasources.by_name(str(ref)) is None and ctx.datasources.has_type(adopted):
        # Another Grafana's name for its Prometheus/Loki; provisioning maps it (files.adopt_datasources).
        return Resolved(adopted, problems=(("warning", (f"datasource {ref!r} is another Grafana's; stackctl provisions it "
                                                        f"as the stack's {adopted} datasource ({ADOPTED_TYPES[adopted]!r})")),))
    if isinstance(ref, str):
        return _by_string(ref, None, ctx, allow_name=True)
    if isinstance(ref, dict):
        uid, ds_type = ref.get("uid"), ref.get("type")
        if ds_type is not None and not isinstance(ds_type, str):
            return Resolved(None, "unknown", (("error", f"datasource type must be a string, found {ds_type!r}"),))
        if uid is None or uid == "":
            return _by_type(ds_type, ctx)
        if not isinstance(uid, str):
            return Resolved(None, "unknown", (("error", f"datasource uid must be a string, found {uid!r}"),))
        return _by_string(uid, ds_type, ctx, allow_name=True)
    return Resolved(None, "unknown", (("error", f"a datasource reference is null, a string or {{\"type\", \"uid\"}}, found {ref!r}"),))


def _by_type(ds_type: str | None, ctx: RefContext) -> Resolved:
    if not ds_type:
        return check_ref(None, ctx)
    if ds_type in ("datasource", "grafana"):
        return Resolved("grafana", "grafana")
    default = ctx.datasources.default()
    if default is not None and default.type == ds_type:
        return Resolved(ds_type)
    if ctx.datasources.has_type(ds_type):
        return Resolved(ds_type, problems=(("warning", f"names only the type {ds_type!r}, no uid: add the uid of the provisioned one"),))
    return Resolved(ds_type, "unknown", (("warning", _not_run(ds_type, ctx)),))


def _by_string(value: str, ds_type: str | None, ctx: RefContext, allow_name: bool) -> Resolved:
    builtin = BUILTIN.get(value.lower())
    if builtin:
        return Resolved(builtin if builtin != "mixed" else None, builtin)
    var = _VAR_RE.match(value)
    if var:
        return _by_variable(next(g for g in var.groups() if g), value, ds_type, ctx)
    found = ctx.datasources.by_uid(value)
    problems: list[tuple[Severity, str]] = []
    if found is None and allow_name:
        found = ctx.datasources.by_name(value)
        if found is not None:
            problems.append(("warning", f"refers to datasource {value!r} by name; use its uid {found.uid!r} (a rename breaks a name)"))
    if found is None and ds_type and ds_type != "datasource" and not ctx.datasources.has_type(ds_type):
        return Resolved(ds_type, "unknown", (("warning", _not_run(ds_type, ctx)),))
    if found is None and ds_type and ds_type in ADOPTED_TYPES and ctx.datasources.has_type(ds_type):
        # Exports of a live Grafana carry that instance's uids; provisioning maps them (files.adopt_datasources).
        return Resolved(ds_type, problems=(("warning", (f"datasource uid {value!r} is another Grafana's; stackctl provisions it "
                                                        f"as the stack's {ds_type} datasource ({ADOPTED_TYPES[ds_type]!r})")),))
    if found is None:
        return Resolved(ds_type, "unknown", (("error", (f"datasource {value!r} is not provisioned: no uid or name matches "
                                                       f"(provisioned: {ctx.datasources.describe()})")),))
    if ds_type and ds_type != found.type and ds_type != "datasource":
        problems.append(("warning", f"says type {ds_type!r} but datasource {found.uid!r} is a {found.type!r}"))
    return Resolved(found.type, problems=tuple(problems))


def _by_variable(name: str, raw: str, ds_type: str | None, ctx: RefContext) -> Resolved:
    if name in ctx.variables:
        plugin = ctx.variables[name] or ds_type
        if plugin and not ctx.datasources.has_type(plugin):
            return Resolved(plugin, "variable", (("warning", f"variable ${name} lists {plugin!r} datasources: " + _not_run(plugin, ctx)),))
        return Resolved(plugin or None, "variable")
    if name in ctx.inputs:
        plugin = ctx.inputs[name]
        if not ctx.datasources.has_type(plugin):
            return Resolved(plugin, "unknown", (("warning", f"input {raw}: " + _not_run(plugin, ctx)),))
        return Resolved(plugin, "variable")
    if name in ctx.other_variables:
        return Resolved(ds_type, "variable", (("warning", (f"variable ${name} is not a datasource variable; "
                                                          "Grafana resolves its value as a datasource uid or name")),))
    if name.startswith("DS_"):
        return Resolved(ds_type, "unknown", (("error", f"{raw} is an export placeholder with no __inputs entry: "
                                                       "Grafana reports \"Datasource " + raw + " was not found\""),))
    return Resolved(ds_type, "unknown", (("error", f"variable {raw} is not defined in templating.list"),))


def _not_run(ds_type: str, ctx: RefContext) -> str:
    """A datasource type the stack does not run: the panel alone is broken in Grafana, and the
    dashboard's other panels work, so this is a warning (issue 14), never a refusal."""
    return (f"needs a {ds_type!r} datasource, which the stack does not run (provisioned: {ctx.datasources.describe()}): "
            "Grafana shows this panel as 'datasource not found', the others work; stackctl verify skips it")
