"""The one dashboard model: a Grafana dashboard JSON read the way Grafana 9-12 loads it.

``load_dashboard(path | dict)`` returns a :class:`Dashboard` whose ``panels`` are every panel
Grafana would show, whatever the layout it was saved in:

* top-level ``panels`` with ``row`` panels (expanded rows own the panels after them, collapsed
  rows keep theirs in ``panels``);
* the legacy ``rows[]`` layout (schemaVersion < 16), which Grafana migrates on load;
* library panels (``libraryPanel`` references), taken from ``__elements`` in exports; without
  their model they are kept, with ``problem`` saying why they cannot be read;
* repeated panels and rows (``repeat``), once each, with the variable they repeat over; the
  copies Grafana saved of them (``repeatPanelId``, ``repeatIteration``) are dropped;
* Grafana 12's schema v2 (``spec.elements`` placed by ``spec.layout``), converted first
  (:mod:`stackctl.dashboards.schema_v2`).

Datasources are resolved from every form a dashboard uses: ``{"type", "uid"}``, a name string,
an export input ``${DS_X}`` (its ``pluginId``), a datasource variable (``$ds``: its plugin
type), ``-- Mixed --`` (each target names its own), ``-- Grafana --`` and ``-- Dashboard --``;
none means the default datasource, Prometheus in the stack. Variables and annotations are read
as written; :mod:`stackctl.dashboards.variables` resolves them against a live Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Mapping

from stackctl.dashboards.files import read_json
from stackctl.dashboards.formats import names_in
from stackctl.dashboards.refs import DEFAULT_DATASOURCE, INPUT_REF, STACK_TYPES, Context, Datasource, datasource_of
from stackctl.dashboards.schema_v2 import is_v2, to_v1

# Panels that never query (their "targets", if any, are leftovers).
NO_QUERY_TYPES = frozenset({"row", "text", "news", "dashlist", "welcome", "gettingstarted", "alertlist", "annolist"})




@dataclass(frozen=True)
class Target:
    """One query of a panel. ``expr`` is PromQL/LogQL as written ("" for other languages,
    whose query text stays in ``raw``); ``hidden`` targets are not run by Grafana."""

    ref_id: str
    datasource: Datasource
    expr: str = ""
    hidden: bool = False
    instant: bool = False
    interval: str | None = None  # the target's min step (Grafana's "Min step")
    legend: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def kind(self) -> str:
        """The datasource type the query is written for (``prometheus``, ``loki``, ...)."""
        return self.datasource.type


@dataclass(frozen=True)
class Panel:
    """A panel as Grafana shows it (library panels merged in).

    ``row``/``row_repeat``: the title of the row it sits in and the variable that row repeats
    over; ``repeat``: the variable the panel itself repeats over. ``width`` is ``gridPos.w``
    (24 = full width), used to estimate Grafana's max data points. ``problem`` says why the
    panel's queries cannot be known (a library panel whose model is not in the file).
    """

    id: int | None
    title: str
    type: str
    datasource: Datasource
    targets: tuple[Target, ...] = ()
    row: str | None = None
    repeat: str | None = None
    row_repeat: str | None = None
    interval: str | None = None
    max_data_points: int | None = None
    width: int = 12
    time_from: str | None = None
    time_shift: str | None = None
    library_panel: str | None = None
    problem: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def visible_targets(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if not t.hidden)

    @property
    def repeats_over(self) -> tuple[str, ...]:
        """The variables this panel is repeated for: its row's, then its own."""
        return tuple(v for v in (self.row_repeat, self.repeat) if v)

    def skip_reason(self, types: frozenset[str] = STACK_TYPES) -> str | None:
        """Why the panel's queries cannot be run against a stack serving ``types``; None if they can."""
        if self.problem:
            return self.problem
        if self.datasource.type == "dashboard":
            source = next((t.raw.get("panelId") for t in self.targets if t.raw.get("panelId") is not None), "?")
            return f"shows panel {source}'s results (-- Dashboard -- datasource)"
        if not self.targets:
            return f"no queries ({self.type or 'untyped'} panel)"
        visible = self.visible_targets
        if not visible:
            return "every query is hidden"
        if not any(t.kind in types for t in visible):
            kinds = sorted({t.kind for t in visible})
            return f"{', '.join(kinds)} datasource" + (f" (not run by the stack: it runs {', '.join(sorted(types))})" if types else "")
        if not any(t.expr.strip() for t in visible if t.kind in types):
            return "no query text"
        return None


@dataclass(frozen=True)
class Variable:
    """A template variable as saved. ``query`` is the variable's query text (for ``custom``
    the comma list, for ``interval`` the interval list, for ``datasource`` the plugin type);
    ``current`` the saved selection (values; ``$__all`` for All); ``options`` saved
    ``(text, value)`` pairs; ``auto*`` the interval variable's auto option."""

    name: str
    type: str
    query: str = ""
    datasource: Datasource | None = None
    regex: str = ""
    sort: int = 0
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    current: tuple[str, ...] = ()
    current_text: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    hide: int = 0
    refresh: int = 1
    auto: bool = False
    auto_count: int = 30
    auto_min: str = "10s"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def references(self) -> set[str]:
        """Names of the variables its query, regex or datasource use (for dependency order)."""
        text = " ".join([self.query, self.regex, self.datasource.variable or "" if self.datasource else ""])
        return {n for n in names_in(text) if n and n != self.name}




@dataclass(frozen=True)
class Annotation:
    """An annotation query; ``builtin`` is Grafana's own "Annotations & Alerts" (not a query)."""

    name: str
    datasource: Datasource
    expr: str = ""
    enabled: bool = True
    hidden: bool = False
    builtin: bool = False
    step: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Dashboard:
    title: str
    uid: str | None
    path: Path | None
    panels: tuple[Panel, ...] = ()
    variables: tuple[Variable, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    time_from: str = "now-6h"
    time_to: str = "now"
    schema_version: int | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)  # export input name -> pluginId
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def targets(self) -> Iterator[tuple[Panel, Target]]:
        """Every (panel, target), hidden targets included (check ``target.hidden``)."""
        for panel in self.panels:
            for target in panel.targets:
                yield panel, target

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    @property
    def key(self) -> str:
        """Identity for "the same dashboard given twice": the uid, else title and queries."""
        if self.uid:
            return f"uid:{self.uid}"
        return "title:" + self.title + "|" + "|".join(t.expr for _, t in self.targets())


# -- panels ----------------------------------------------------------------------------------

def _target(raw: Mapping[str, Any], ctx: Context, panel_ds: Datasource) -> Target:
    inherit = DEFAULT_DATASOURCE if panel_ds.type == "mixed" else panel_ds
    ds = datasource_of(raw.get("datasource"), ctx, raw, inherit)
    expr = raw.get("expr")
    return Target(str(raw.get("refId") or ""), ds, expr if isinstance(expr, str) else "", bool(raw.get("hide")),
                  (bool(raw.get("instant")) and not raw.get("range")) or raw.get("queryType") == "instant", _text(raw.get("interval")),
                  _text(raw.get("legendFormat")), raw)


def _with_ref_ids(targets: tuple[Target, ...]) -> tuple[Target, ...]:
    """Targets saved without ``refId`` (grafonnet's output) get the next free letter, as Grafana
    gives them on load (A, B, ... Z, then AA ...): their legends, overrides and results stay apart."""
    used = {t.ref_id for t in targets if t.ref_id}
    letters = (chr(65 + i % 26) * (1 + i // 26) for i in range(10_000))
    out = []
    for t in targets:
        if not t.ref_id:
            ref = next(x for x in letters if x not in used)
            used.add(ref)
            t = replace(t, ref_id=ref)
        out.append(t)
    return tuple(out)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _library_model(ref: Mapping[str, Any], elements: Mapping[str, Any]) -> Mapping[str, Any] | None:
    element = elements.get(str(ref.get("uid") or "")) or next(
        (e for e in elements.values() if isinstance(e, dict) and e.get("name") == ref.get("name")), None)
    model = element.get("model") if isinstance(element, dict) else None
    return model if isinstance(model, dict) else None


def _panel(raw: Mapping[str, Any], ctx: Context, elements: Mapping[str, Any], row: str | None, row_repeat: str | None) -> Panel:
    library = raw.get("libraryPanel") if isinstance(raw.get("libraryPanel"), dict) else None
    problem = None
    if library is not None:
        model = _library_model(library, elements)
        if model is None:
            problem = (f"library panel {library.get('name') or library.get('uid')!r} lives in Grafana's library, "
                       "not in this file (export the dashboard with 'Export for sharing externally' to include it)")
        else:
            raw = {**model, **{k: v for k, v in raw.items() if k in ("id", "gridPos", "libraryPanel")},
                   "title": raw.get("title") or model.get("title")}
    targets = _list(raw.get("targets"))
    sample = next((t for t in targets if isinstance(t, dict)), None)  # guesses an unknown uid's type
    ds = datasource_of(raw.get("datasource"), ctx, sample)
    type_ = str(raw.get("type") or ("graph" if targets else ""))
    if ds.default and targets:  # no panel datasource: Grafana uses the targets' (or the default)
        first = next((t.get("datasource") for t in targets if isinstance(t, dict) and t.get("datasource")), None)
        ds = datasource_of(first, ctx, sample) if first is not None else ds
    parsed = _with_ref_ids(tuple(_target(t, ctx, ds) for t in targets if isinstance(t, dict))) if type_ not in NO_QUERY_TYPES else ()
    grid = _dict(raw.get("gridPos"))
    width = _int(grid.get("w")) or _legacy_width(raw)
    title = str(raw.get("title") or "").strip() or f"panel {raw.get('id', '?')}"
    return Panel(_int(raw.get("id")), title, type_, ds, parsed, row, _text(raw.get("repeat")), row_repeat,
                 _text(raw.get("interval")), _int(raw.get("maxDataPoints")), max(1, min(24, width)),
                 _text(raw.get("timeFrom")), _text(raw.get("timeShift")),
                 str(library.get("uid") or library.get("name")) if library else None, problem, raw)


def _legacy_width(raw: Mapping[str, Any]) -> int:
    span = _int(raw.get("span"))  # rows[] layout: 12 columns
    return span * 2 if span else 12


def _is_copy(raw: Mapping[str, Any]) -> bool:
    """A copy Grafana saved of a repeated panel or row (it recreates them on load)."""
    return raw.get("repeatPanelId") is not None or raw.get("repeatIteration") is not None or raw.get("repeatRowId") is not None


def _walk_panels(items: Any, ctx: Context, elements: Mapping[str, Any], row: str | None = None,
                 row_repeat: str | None = None) -> Iterator[Panel]:
    """Panels in order; a ``row`` panel owns the panels after it (expanded) or its own
    ``panels`` (collapsed), until the next row."""
    for raw in _list(items):
        if not isinstance(raw, dict) or _is_copy(raw):
            continue
        if raw.get("type") == "row":
            row, row_repeat = str(raw.get("title") or "") or None, _text(raw.get("repeat"))
            for nested in _list(raw.get("panels")):  # collapsed rows keep their panels here
                if isinstance(nested, dict) and not _is_copy(nested) and nested.get("type") != "row":
                    yield _panel(nested, ctx, elements, row, row_repeat)
            continue
        yield _panel(raw, ctx, elements, row, row_repeat)


def _walk_rows(rows: Any, ctx: Context, elements: Mapping[str, Any]) -> Iterator[Panel]:
    """The legacy ``rows[]`` layout: each row's panels belong to it."""
    for raw in _list(rows):
        if isinstance(raw, dict) and not _is_copy(raw):
            yield from _walk_panels(raw.get("panels"), ctx, elements, str(raw.get("title") or "") or None, _text(raw.get("repeat")))


# -- variables and annotations -----------------------------------------------------------

def _values(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(str(v) for v in items if v is not None)


def _query_text(query: Any) -> str:
    if isinstance(query, dict):  # Grafana 10+: {"query": "...", "qryType": 1, "refId": ...}
        return str(query.get("query") or query.get("expr") or "")
    return "" if query is None else str(query)


def _variable(raw: Mapping[str, Any], ctx: Context) -> Variable:
    current = _dict(raw.get("current"))
    options = tuple((str(o.get("text", o.get("value"))), str(o.get("value")))
                    for o in _list(raw.get("options")) if isinstance(o, dict) and o.get("value") is not None)
    type_ = str(raw.get("type") or "query")
    ds = datasource_of(raw.get("datasource"), ctx, {"expr": ""}) if type_ in ("query", "adhoc") else None
    all_value = raw.get("allValue")
    return Variable(
        str(raw.get("name")), type_, _query_text(raw.get("query")) or _query_text(raw.get("definition")), ds,
        str(raw.get("regex") or ""), _int(raw.get("sort")) or 0, bool(raw.get("multi")), bool(raw.get("includeAll")),
        str(all_value) if all_value not in (None, "") else None, _values(current.get("value")), _values(current.get("text")),
        options, _int(raw.get("hide")) or 0, _int(raw.get("refresh")) or 0, bool(raw.get("auto")),
        _int(raw.get("auto_count")) or 30, str(raw.get("auto_min") or "10s"), raw)


def _annotation(raw: Mapping[str, Any], ctx: Context) -> Annotation:
    ds = datasource_of(raw.get("datasource"), ctx, raw)
    builtin = bool(raw.get("builtIn")) or ds.type in ("grafana", "dashboard")
    expr = str(raw.get("expr") or "") if isinstance(raw.get("expr"), str) else ""
    if not expr and isinstance(raw.get("target"), dict):  # Grafana 10+ keeps the query in `target`
        expr = str(raw["target"].get("expr") or "")
    return Annotation(str(raw.get("name") or ""), ds, expr, raw.get("enable", True) is not False,
                      bool(raw.get("hide")), builtin, _text(raw.get("step")), raw)


# -- loading ---------------------------------------------------------------------------------

def _inputs(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """``(datasource inputs name -> pluginId, constant inputs "${VAR_X}" -> value)``."""
    ds: dict[str, str] = {}
    constants: dict[str, str] = {}
    for item in _list(data.get("__inputs")):
        if not isinstance(item, dict) or not item.get("name"):
            continue
        if item.get("type") == "datasource":
            ds[str(item["name"])] = str(item.get("pluginId") or "unknown")
        elif item.get("type") == "constant":
            constants["${" + str(item["name"]) + "}"] = str(item.get("value") or "")
    return ds, constants


def _substitute(node: Any, mapping: Mapping[str, str]) -> Any:
    if not mapping:
        return node
    if isinstance(node, dict):
        return {k: _substitute(v, mapping) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, mapping) for v in node]
    if isinstance(node, str) and "${" in node:
        for placeholder, value in mapping.items():
            node = node.replace(placeholder, value)
    return node


def _elements(data: Mapping[str, Any]) -> dict[str, Any]:
    raw = data.get("__elements")
    if isinstance(raw, list):  # Grafana 8 exports: a list of {uid, name, model}
        return {str(e.get("uid")): e for e in raw if isinstance(e, dict)}
    return dict(raw) if isinstance(raw, dict) else {}


def load_dashboard(source: Path | str | Mapping[str, Any], path: Path | None = None) -> Dashboard:
    """Read a dashboard from a JSON file (ConfigError with line numbers when it is not one) or
    from already-parsed data. Never refuses a dashboard for what its panels query."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        data: Mapping[str, Any] = read_json(path)
    else:
        data = source
    if is_v2(data):  # Grafana 12's schema v2: elements placed by a layout
        data = to_v1(data)
    ds_inputs, constants = _inputs(data)
    data = _substitute(data, constants)
    templating = [v for v in _list(_dict(data.get("templating")).get("list")) if isinstance(v, dict) and v.get("name")]
    ds_vars = {str(v["name"]): _ds_variable_type(v, ds_inputs) for v in templating if v.get("type") == "datasource"}
    ctx = Context(ds_inputs, ds_vars)
    elements = _elements(data)
    panels = (*_walk_panels(data.get("panels"), ctx, elements), *_walk_rows(data.get("rows"), ctx, elements))
    annotations = tuple(_annotation(a, ctx) for a in _list(_dict(data.get("annotations")).get("list")) if isinstance(a, dict))
    time_ = _dict(data.get("time"))
    title = str(data.get("title") or (path.stem if path else "dashboard"))
    return Dashboard(title, _text(data.get("uid")), path, panels, tuple(_variable(v, ctx) for v in templating), annotations,
                     str(time_.get("from") or "now-6h"), str(time_.get("to") or "now"), _int(data.get("schemaVersion")),
                     ds_inputs, data)


def _ds_variable_type(raw: Mapping[str, Any], inputs: Mapping[str, str]) -> str:
    query = _query_text(raw.get("query")).strip()
    if m := INPUT_REF.match(query):
        return inputs.get(m.group(1), "unknown")
    return query or "unknown"
