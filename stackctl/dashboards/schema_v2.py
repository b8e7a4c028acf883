"""Grafana 12's v2 dashboard schema (``dashboard.grafana.app/v2alpha1`` / ``v2beta1``), read by
converting it to the classic JSON model the rest of the package reads.

v2 keeps panels in ``spec.elements`` (by name) and places them with ``spec.layout``: a
``GridLayout`` of items, ``RowsLayout`` rows and ``TabsLayout`` tabs that nest further layouts,
or an ``AutoGridLayout``. A panel's queries are ``data.spec.queries[].spec`` with the query in
``query``: in v2beta1 a ``DataQuery`` whose ``group`` is the datasource plugin and
``datasource.name`` its uid, in v2alpha1 a kind named after the plugin. Variables are kinds
(``QueryVariable``, ``CustomVariable``...) with enum strings for sort, refresh and hide.
Conversion keeps what checks and rendering read: titles, queries, datasources, repeats,
rows, widths, query options, variables and annotations.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

_SORT = {"disabled": 0, "alphabeticalAsc": 1, "alphabeticalDesc": 2, "numericalAsc": 3, "numericalDesc": 4,
         "alphabeticalCaseInsensitiveAsc": 5, "alphabeticalCaseInsensitiveDesc": 6, "naturalAsc": 7, "naturalDesc": 8}
_REFRESH = {"never": 0, "onDashboardLoad": 1, "onTimeRangeChanged": 2}
_HIDE = {"dontHide": 0, "hideLabel": 1, "hideVariable": 2, "inControlsMenu": 2}
_VARIABLE_TYPES = {"QueryVariable": "query", "TextVariable": "textbox", "ConstantVariable": "constant",
                   "DatasourceVariable": "datasource", "IntervalVariable": "interval", "CustomVariable": "custom",
                   "AdhocVariable": "adhoc", "GroupByVariable": "groupby", "SwitchVariable": "custom"}


def is_v2(data: Mapping[str, Any]) -> bool:
    """A v2 resource (``{"apiVersion": "dashboard.grafana.app/v2...", "spec": ...}``) or its bare spec."""
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else data
    return isinstance(spec, dict) and "elements" in spec and "layout" in spec


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _query(kind: Mapping[str, Any], outer_ds: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(datasource ref, query fields)`` of a v2beta1 ``DataQuery`` or a v2alpha1 plugin-named kind."""
    spec = dict(_d(kind.get("spec")))
    if kind.get("kind") == "DataQuery":
        ds = {"type": kind.get("group"), "uid": _d(kind.get("datasource")).get("name")}
    else:
        ds = dict(_d(outer_ds)) or {"type": kind.get("kind")}
    return {k: v for k, v in ds.items() if v}, spec


def _panel(element: Mapping[str, Any], width: int) -> dict[str, Any]:
    spec = _d(element.get("spec"))
    if element.get("kind") == "LibraryPanel":
        return {"id": spec.get("id"), "title": spec.get("title"), "libraryPanel": _d(spec.get("libraryPanel")),
                "gridPos": {"w": width}}
    data = _d(_d(spec.get("data")).get("spec"))
    targets = []
    for q in _l(data.get("queries")):
        qspec = _d(_d(q).get("spec"))
        ds, fields = _query(_d(qspec.get("query")), qspec.get("datasource"))
        targets.append({**fields, "refId": qspec.get("refId") or "A", "hide": bool(qspec.get("hidden")), "datasource": ds or None})
    options = _d(data.get("queryOptions"))
    viz = _d(spec.get("vizConfig"))
    panel = {"id": spec.get("id"), "title": spec.get("title"), "type": viz.get("group") or viz.get("kind") or "timeseries",
             "targets": targets, "gridPos": {"w": width}, "datasource": targets[0]["datasource"] if targets else None}
    for key in ("description", "links", "transparent"):
        if spec.get(key):
            panel[key] = spec[key]
    transformations = [{"id": _d(t).get("kind"), **_d(_d(t).get("spec"))} for t in _l(data.get("transformations"))]
    if transformations:
        panel["transformations"] = transformations
    vspec = _d(viz.get("spec"))  # what the panel looks like: stackctl report draws with it
    for key in ("fieldConfig", "options"):
        if vspec.get(key):
            panel[key] = vspec[key]
    for v1, v2 in (("interval", "interval"), ("maxDataPoints", "maxDataPoints"), ("timeFrom", "timeFrom"), ("timeShift", "timeShift")):
        if options.get(v2) not in (None, ""):
            panel[v1] = options[v2]
    return panel


def _items(layout: Mapping[str, Any], elements: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The panels of a layout; rows (and tabs) as row panels: a collapsed one holds its panels,
    an expanded one is followed by them, as in the classic model."""
    kind, spec = layout.get("kind"), _d(layout.get("spec"))
    if kind in ("GridLayout", "AutoGridLayout"):
        columns = max(int(spec.get("maxColumnCount") or 3), 1)
        for i, item in enumerate(_l(spec.get("items"))):
            ispec = _d(_d(item).get("spec"))
            element = _d(elements.get(str(_d(ispec.get("element")).get("name"))))
            if not element:
                continue
            width = int(ispec.get("width") or 0) or 24 // columns
            panel = _panel(element, width)
            if kind == "GridLayout" and "x" in ispec and "y" in ispec:
                panel["gridPos"] = {"x": ispec.get("x"), "y": ispec.get("y"), "w": width, "h": ispec.get("height") or 8}
            else:  # AutoGridLayout flows its items: columns of equal width, rows 8 high
                panel["gridPos"] = {"x": (i % columns) * width, "y": (i // columns) * 8, "w": width, "h": 8}
            repeat = _d(ispec.get("repeat")).get("value")
            if repeat:
                panel["repeat"] = repeat
            yield panel
    elif kind in ("RowsLayout", "TabsLayout"):
        for child in _l(spec.get("rows") or spec.get("tabs")):
            cspec = _d(_d(child).get("spec"))
            inner = list(_items(_d(cspec.get("layout")), elements))
            # rows inside rows: their panels join this row (Grafana shows them under it)
            panels = [p for p in inner if p.get("type") != "row"] + [q for p in inner if p.get("type") == "row" for q in p["panels"]]
            collapsed = bool(cspec.get("collapse"))  # tabs have no classic form: expanded rows
            row: dict[str, Any] = {"type": "row", "title": cspec.get("title") or "", "collapsed": collapsed,
                                   "panels": panels if collapsed else []}
            repeat = _d(cspec.get("repeat")).get("value")
            if repeat:
                row["repeat"] = repeat
            yield row
            if not collapsed:  # an expanded row owns the panels that follow it
                yield from panels


def _current(spec: Mapping[str, Any]) -> dict[str, Any]:
    current = spec.get("current")
    if isinstance(current, str):  # SwitchVariable
        return {"text": current, "value": current}
    return dict(_d(current))


def _variable(kind: Mapping[str, Any]) -> dict[str, Any]:
    spec = _d(kind.get("spec"))
    type_ = _VARIABLE_TYPES.get(str(kind.get("kind")), "custom")
    out: dict[str, Any] = {
        "name": spec.get("name"), "type": type_, "current": _current(spec), "options": _l(spec.get("options")),
        "multi": bool(spec.get("multi")), "includeAll": bool(spec.get("includeAll")), "allValue": spec.get("allValue"),
        "regex": spec.get("regex") or "", "sort": _SORT.get(str(spec.get("sort")), 0),
        "refresh": _REFRESH.get(str(spec.get("refresh")), 1), "hide": _HIDE.get(str(spec.get("hide")), 0),
        "label": spec.get("label"), "definition": spec.get("definition")}
    if type_ == "query":
        ds, fields = _query(_d(spec.get("query")), spec.get("datasource"))
        out["query"] = fields.get("query") or fields.get("expr") or spec.get("definition") or ""
        out["datasource"] = ds or None
    elif type_ == "datasource":
        out["query"] = spec.get("pluginId") or ""
    elif str(kind.get("kind")) == "SwitchVariable":
        out["query"] = f"{spec.get('enabledValue', 'true')},{spec.get('disabledValue', 'false')}"
    else:
        out["query"] = spec.get("query") or ""
    for key in ("auto", "auto_min", "auto_count"):
        if key in spec:
            out[key] = spec[key]
    return out


def _annotation(kind: Mapping[str, Any]) -> dict[str, Any]:
    spec = _d(kind.get("spec"))
    ds, fields = _query(_d(spec.get("query")), spec.get("datasource"))
    return {**_d(spec.get("legacyOptions")), **fields, "name": spec.get("name"), "enable": spec.get("enable", True),
            "hide": bool(spec.get("hide")), "builtIn": 1 if spec.get("builtIn") else 0, "datasource": ds or None}


def to_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    """The classic dashboard JSON of a v2 dashboard."""
    spec = _d(data.get("spec")) if isinstance(data.get("spec"), dict) else dict(data)
    time_ = _d(spec.get("timeSettings"))
    return {
        "title": spec.get("title"), "uid": _d(data.get("metadata")).get("name") or spec.get("uid"),
        "schemaVersion": 42, "time": {"from": time_.get("from") or "now-6h", "to": time_.get("to") or "now"},
        "panels": list(_items(_d(spec.get("layout")), _d(spec.get("elements")))),
        "templating": {"list": [_variable(_d(v)) for v in _l(spec.get("variables"))]},
        "annotations": {"list": [_annotation(_d(a)) for a in _l(spec.get("annotations"))]},
        "description": spec.get("description") or "", "tags": _l(spec.get("tags")), "links": _l(spec.get("links")),
        "editable": spec.get("editable", True), "refresh": time_.get("autoRefresh") or "",
    }
