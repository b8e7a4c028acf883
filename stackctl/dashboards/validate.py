"""Dashboards checked the way Grafana will load them, before Grafana ever sees them.

Grafana cannot run on every machine that runs stackctl, so a dashboard it would reject (or
load half-broken) must be caught from the file alone. Read from the raw JSON, independent of
the panel model, and checked against what Grafana's classic dashboard model accepts:

* the JSON shape: an object with a title, a ``panels`` list of objects with a ``type``;
* ``schemaVersion`` within what Grafana 12 migrates (13..42 for the classic model);
* ``uid``: at most 40 characters of ``[A-Za-z0-9_-]`` (Grafana refuses longer ones);
* panel ``id``s unique across the dashboard, collapsed rows included;
* ``gridPos`` inside Grafana's 24 columns;
* every datasource reference (panel, target, variable, annotation) resolving to a provisioned
  datasource uid, a datasource variable of a provisioned type, or an export ``__inputs`` entry;
* every Prometheus/Loki target carrying its ``expr``.

Errors are what Grafana rejects or renders broken; warnings are what it tolerates but a user
should fix (a missing uid, a datasource named instead of referenced by uid, overlapping
panels). Each problem names the file, the line, the panel and the JSON field. Key names come
from the official ``grafana-foundation-sdk`` models (see :mod:`stackctl.dashboards.schema`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

from stackctl.dashboards.datasources import Datasources, RefContext, check_ref
from stackctl.dashboards.locate import Lines, dotted
from stackctl.dashboards.schema import near_miss
from stackctl.dashboards.schema_v2 import is_v2, to_v1

Severity = Literal["error", "warning"]
MIN_SCHEMA, MAX_SCHEMA = 13, 42
GRID_COLUMNS = 24
GRID_DEFAULTS = {"x": 0, "y": 0, "w": 6, "h": 3}  # PanelModel defaults: what Grafana gives a panel missing a gridPos key
UID_MAX = 40
_UID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
QUERY_FIELDS = {"prometheus": "expr", "loki": "expr"}  # datasource type -> the target field holding the query


@dataclass(frozen=True)
class Problem:
    severity: Severity
    source: str
    line: int | None
    where: str  # 'panel 3 "Requests"' or 'dashboard'
    field: str  # the JSON path, e.g. panels[2].gridPos.w
    message: str

    def __str__(self) -> str:
        at = f"{self.source}:{self.line}" if self.line else self.source
        return f"{at}: {self.where}: {self.field}: {self.message}"


@dataclass
class _Ctx:
    source: str
    lines: Lines
    refs: RefContext
    problems: list[Problem] = field(default_factory=list)

    def add(self, severity: Severity, path: tuple[Any, ...], where: str, message: str) -> None:
        self.problems.append(Problem(severity, self.source, self.lines.of(path), where, dotted(path), message))


def check_text(text: str, source: str, datasources: Datasources) -> list[Problem]:
    """Every problem of one dashboard file's text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [Problem("error", source, exc.lineno, "dashboard", "(file)", f"not valid JSON: {exc.msg} (column {exc.colno})")]
    except RecursionError:
        return [Problem("error", source, None, "dashboard", "(file)", "nested too deeply to be a dashboard")]
    return check_dashboard(data, source, datasources, Lines(text))


def check_file(path: Path, datasources: Datasources, source: str | None = None) -> list[Problem]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem("error", source or str(path), None, "dashboard", "(file)", f"cannot read it ({exc})")]
    return check_text(text, source or str(path), datasources)


def check_dashboard(data: Any, source: str, datasources: Datasources, lines: Lines | None = None) -> list[Problem]:
    lines = lines or Lines("")
    if not isinstance(data, dict):
        return [Problem("error", source, 1, "dashboard", "(top level)", f"a dashboard is a JSON object, found {type(data).__name__}")]
    if is_v2(data):  # Grafana 12's schema v2: checked as provisioning writes it (the classic model)
        data, lines = to_v1(data), Lines("")
    ctx = _Ctx(source, lines, RefContext.of(data, datasources))
    if isinstance(data.get("dashboard"), dict) and "title" not in data:
        ctx.add("error", ("dashboard",), "dashboard", "this is an API export ({\"dashboard\": ..., \"meta\": ...}): "
                "Grafana's file provisioning reads the inner object only; save the value of \"dashboard\" as the file")
        return ctx.problems
    _check_top(data, ctx)
    _check_panels(data, ctx)
    _check_templating(data, ctx)
    _check_annotations(data, ctx)
    return ctx.problems


def _check_top(data: dict[str, Any], ctx: _Ctx) -> None:
    where = "dashboard"
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        ctx.add("error", ("title",), where, "a dashboard needs a non-empty title (Grafana refuses to save one without)")
    uid = data.get("uid")
    if uid is None:
        ctx.add("warning", ("uid",), where, "no uid: Grafana generates one, and links to this dashboard break when it is provisioned again")
    elif not isinstance(uid, str) or not uid:
        ctx.add("error", ("uid",), where, f"uid must be a non-empty string, found {uid!r}")
    elif len(uid) > UID_MAX:
        ctx.add("error", ("uid",), where, f"uid is {len(uid)} characters; Grafana accepts at most {UID_MAX}")
    elif not _UID_RE.match(uid):
        ctx.add("error", ("uid",), where, f"uid {uid!r} has characters Grafana refuses (allowed: letters, digits, '-' and '_')")
    _check_schema_version(data, ctx)
    for key in data:
        close = near_miss("dashboard", key)
        if close:
            ctx.add("warning", (key,), where, f"unknown key {key!r} (did you mean {close!r}?); Grafana ignores it")


def _check_schema_version(data: dict[str, Any], ctx: _Ctx) -> None:
    version = data.get("schemaVersion")
    if version is None:
        ctx.add("warning", ("schemaVersion",), "dashboard",
                f"no schemaVersion: Grafana treats the dashboard as version 0 and may not migrate it (set one in {MIN_SCHEMA}..{MAX_SCHEMA})")
    elif not isinstance(version, int) or isinstance(version, bool):
        ctx.add("error", ("schemaVersion",), "dashboard", f"schemaVersion must be an integer, found {version!r}")
    elif version < MIN_SCHEMA:
        ctx.add("error", ("schemaVersion",), "dashboard",
                f"schemaVersion {version} is older than Grafana 12 migrates ({MIN_SCHEMA}); open and save it in an older Grafana first")
    elif version > MAX_SCHEMA:
        ctx.add("error", ("schemaVersion",), "dashboard",
                f"schemaVersion {version} is newer than the classic model Grafana migrates ({MAX_SCHEMA}); "
                "is this a v2 (schema v2 / scenes) dashboard? export it as classic JSON")


# -- panels ---------------------------------------------------------------------------------

def _panel_label(panel: dict[str, Any], path: tuple[Any, ...]) -> str:
    title = panel.get("title")
    pid = panel.get("id")
    name = f"panel {pid}" if isinstance(pid, int) else f"panel {dotted(path)}"
    return f"{name} {title!r}" if isinstance(title, str) and title else name


def _all_panels(data: dict[str, Any], ctx: _Ctx) -> list[tuple[tuple[Any, ...], dict[str, Any], bool]]:
    """(path, panel, in_grid) for every panel: top level, collapsed rows, and old-style ``rows``."""
    out: list[tuple[tuple[Any, ...], dict[str, Any], bool]] = []
    panels = data.get("panels", [])
    if not isinstance(panels, list):
        ctx.add("error", ("panels",), "dashboard", f"panels must be a list, found {type(panels).__name__}")
        panels = []
    for i, panel in enumerate(panels):
        path: tuple[Any, ...] = ("panels", i)
        if not isinstance(panel, dict):
            ctx.add("error", path, f"panel {dotted(path)}", f"a panel is a JSON object, found {type(panel).__name__}")
            continue
        out.append((path, panel, True))
        nested = panel.get("panels")
        if panel.get("type") == "row" and isinstance(nested, list) and nested:
            if not panel.get("collapsed"):
                ctx.add("warning", path + ("panels",), _panel_label(panel, path),
                        "an expanded row keeps its panels at the top level; Grafana ignores panels nested in it (set collapsed: true)")
            for j, child in enumerate(nested):
                if isinstance(child, dict):
                    out.append((path + ("panels", j), child, True))
    rows = data.get("rows")
    if isinstance(rows, list):  # schemaVersion < 16: Grafana migrates rows into panels
        for i, row in enumerate(rows):
            for j, child in enumerate(row.get("panels", []) if isinstance(row, dict) else []):
                if isinstance(child, dict):
                    out.append((("rows", i, "panels", j), child, False))
    return out


def _check_panels(data: dict[str, Any], ctx: _Ctx) -> None:
    seen_ids: dict[int, str] = {}
    boxes: list[tuple[tuple[Any, ...], str, tuple[int, int, int, int]]] = []
    for path, panel, in_grid in _all_panels(data, ctx):
        label = _panel_label(panel, path)
        ptype = panel.get("type")
        if (not isinstance(ptype, str) or not ptype) and not isinstance(panel.get("libraryPanel"), dict):
            # a library panel reference takes its type from the library element
            ctx.add("error", path + ("type",), label, "a panel needs a type (timeseries, stat, table, row, ...)")
        _check_panel_id(panel, path, label, seen_ids, ctx)
        if in_grid:
            box = _check_grid(panel, path, label, ctx)
            if box and ptype != "row" and len(path) == 2:
                boxes.append((path, label, box))
        for key in panel:
            close = near_miss("panel", key)
            if close:
                ctx.add("warning", path + (key,), label, f"unknown key {key!r} (did you mean {close!r}?); Grafana ignores it")
        if isinstance(panel.get("libraryPanel"), dict):
            ctx.add("warning", path + ("libraryPanel",), label,
                    "a library panel: its content lives in Grafana's database, not in this file; provisioning cannot create it")
            continue
        if ptype != "row":
            _check_panel_queries(panel, path, label, ctx)
    _check_overlaps(boxes, ctx)


def _check_panel_id(panel: dict[str, Any], path: tuple[Any, ...], label: str, seen: dict[int, str], ctx: _Ctx) -> None:
    pid = panel.get("id")
    if pid is None:
        ctx.add("warning", path, label, "no id: Grafana assigns one, so links and alerts to this panel change on every load")
    elif not isinstance(pid, int) or isinstance(pid, bool):
        ctx.add("error", path + ("id",), label, f"a panel id is an integer, found {pid!r}")
    elif pid in seen:
        ctx.add("error", path + ("id",), label, f"panel id {pid} is already used by {seen[pid]}; panel ids must be unique in a dashboard")
    else:
        seen[pid] = f"{dotted(path)}" if label.startswith("panel panels") else label


def _check_grid(panel: dict[str, Any], path: tuple[Any, ...], label: str, ctx: _Ctx) -> tuple[int, int, int, int] | None:
    grid = panel.get("gridPos")
    gpath = path + ("gridPos",)
    if grid is None:
        ctx.add("warning", path, label, "no gridPos: Grafana places the panel itself (set x, y, w, h)")
        return None
    if not isinstance(grid, dict):
        ctx.add("error", gpath, label, f"gridPos must be an object with x, y, w, h, found {type(grid).__name__}")
        return None
    values: dict[str, int] = {}
    for key in ("x", "y", "w", "h"):
        value = grid.get(key)
        if key not in grid:  # Grafana fills a missing key from its panel defaults (grafonnet omits x: 0)
            values[key] = GRID_DEFAULTS[key]
            if key in ("w", "h"):
                ctx.add("warning", gpath, label, f"no gridPos.{key}: Grafana uses its default {GRID_DEFAULTS[key]}")
        elif not isinstance(value, int) or isinstance(value, bool):
            ctx.add("error", gpath + (key,), label, f"gridPos.{key} must be an integer, found {value!r}")
        else:
            values[key] = value
    if len(values) < 4:
        return None
    x, y, w, h = values["x"], values["y"], values["w"], values["h"]
    if w < 1 or w > GRID_COLUMNS:
        ctx.add("error", gpath + ("w",), label, f"width {w} is outside Grafana's grid (1..{GRID_COLUMNS} columns)")
    elif x < 0 or x + w > GRID_COLUMNS:
        ctx.add("error", gpath + ("x",), label, f"x {x} + w {w} = {x + w} runs past Grafana's {GRID_COLUMNS} columns")
    if h < 1:
        ctx.add("error", gpath + ("h",), label, f"height {h} must be at least 1")
    if y < 0:
        ctx.add("error", gpath + ("y",), label, f"y {y} must not be negative")
    return x, y, w, h


def _check_overlaps(boxes: list[tuple[tuple[Any, ...], str, tuple[int, int, int, int]]], ctx: _Ctx) -> None:
    for i, (path, label, (x, y, w, h)) in enumerate(boxes):
        for _other_path, other, (ox, oy, ow, oh) in boxes[:i]:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                ctx.add("warning", path + ("gridPos",), label, f"overlaps {other}: Grafana moves one of them down, so the layout differs from the file")
                break


def _check_panel_queries(panel: dict[str, Any], path: tuple[Any, ...], label: str, ctx: _Ctx) -> None:
    panel_ds = check_ref(panel.get("datasource"), ctx.refs, panel)
    if "datasource" in panel:
        _report(panel_ds.problems, path + ("datasource",), label, ctx)
    targets = panel.get("targets")
    if targets is None:
        return
    if not isinstance(targets, list):
        ctx.add("error", path + ("targets",), label, f"targets must be a list, found {type(targets).__name__}")
        return
    refids: set[str] = set()
    for i, target in enumerate(targets):
        tpath = path + ("targets", i)
        if not isinstance(target, dict):
            ctx.add("error", tpath, label, f"a target is a JSON object, found {type(target).__name__}")
            continue
        ref_id = target.get("refId")
        if isinstance(ref_id, str) and ref_id in refids:
            ctx.add("warning", tpath + ("refId",), label, f"refId {ref_id!r} is used twice: the results of one of them are hidden")
        elif isinstance(ref_id, str):
            refids.add(ref_id)
        if "datasource" in target and target["datasource"] is not None:
            resolved = check_ref(target["datasource"], ctx.refs, target)
            _report(resolved.problems, tpath + ("datasource",), label, ctx)
        else:
            resolved = panel_ds
        if resolved.kind == "mixed":
            ctx.add("warning", tpath, label, "the panel's datasource is -- Mixed --, but this target names none: Grafana uses the default")
        _check_expression(target, resolved.type, tpath, label, ctx)


def _check_expression(target: dict[str, Any], ds_type: str | None, tpath: tuple[Any, ...], label: str, ctx: _Ctx) -> None:
    fieldname = QUERY_FIELDS.get(ds_type or "")
    if fieldname is None:
        return
    expr = target.get(fieldname)
    if not isinstance(expr, str) or not expr.strip():
        severity: Severity = "warning" if target.get("hide") is True else "error"
        ctx.add(severity, tpath + (fieldname,), label, f"a {ds_type} target needs its query in {fieldname!r}"
                + (f" (found {', '.join(sorted(k for k in target if k in ('query', 'expression', 'rawSql')))} instead)"
                   if any(k in target for k in ("query", "expression", "rawSql")) else ""))


def _report(problems: Iterable[tuple[Severity, str]], path: tuple[Any, ...], label: str, ctx: _Ctx) -> None:
    for severity, message in problems:
        ctx.add(severity, path, label, message)


# -- variables and annotations --------------------------------------------------------------

def _items(data: dict[str, Any], section: str, ctx: _Ctx) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    block = data.get(section)
    if block is None:
        return []
    items = block.get("list") if isinstance(block, dict) else None
    if not isinstance(items, list):
        ctx.add("error", (section,), "dashboard", f"{section} must be an object with a 'list' array")
        return []
    return [((section, "list", i), item) for i, item in enumerate(items) if isinstance(item, dict)]


def _check_templating(data: dict[str, Any], ctx: _Ctx) -> None:
    names: set[str] = set()
    for path, var in _items(data, "templating", ctx):
        name = var.get("name")
        label = f"variable {name!r}" if isinstance(name, str) else f"variable {dotted(path)}"
        if not isinstance(name, str) or not name:
            ctx.add("error", path + ("name",), label, "a variable needs a name")
        elif name in names:
            ctx.add("warning", path + ("name",), label, f"variable {name!r} is defined twice; Grafana uses the first")
        else:
            names.add(name)
        vtype = var.get("type")
        if vtype == "datasource":
            plugin = var.get("query")
            if isinstance(plugin, str) and plugin and not ctx.refs.datasources.has_type(plugin):
                ctx.add("error", path + ("query",), label, f"lists datasources of type {plugin!r}, and none is provisioned "
                        f"(provisioned types: {', '.join(ctx.refs.datasources.types()) or 'none'})")
        elif vtype == "query" and "datasource" in var:
            _report(check_ref(var.get("datasource"), ctx.refs, var).problems, path + ("datasource",), label, ctx)


def _check_annotations(data: dict[str, Any], ctx: _Ctx) -> None:
    for path, ann in _items(data, "annotations", ctx):
        label = f"annotation {ann.get('name')!r}"
        if "datasource" not in ann:
            continue
        resolved = check_ref(ann.get("datasource"), ctx.refs, ann)
        _report(resolved.problems, path + ("datasource",), label, ctx)
        if resolved.type in QUERY_FIELDS and ann.get("enable", True) and not (ann.get("expr") or (ann.get("target") or {}).get("expr")):
            ctx.add("warning", path, label, f"a {resolved.type} annotation without an 'expr' shows nothing")


# -- many files -----------------------------------------------------------------------------

@dataclass(frozen=True)
class DashboardFile:
    path: Path  # the file to read (the user's own, not the rendered copy)
    folder: str  # the Grafana folder it is provisioned into
    source: str = ""  # how to name it in messages (default: the path)


def check_files(files: Iterable[DashboardFile], datasources: Datasources) -> list[Problem]:
    """Each file's problems, plus what only shows across files: a uid or a title used twice."""
    problems: list[Problem] = []
    uids: dict[str, str] = {}
    titles: dict[tuple[str, str], str] = {}
    for item in files:
        source = item.source or str(item.path)
        found = check_file(item.path, datasources, source)
        problems += found
        if any(p.field == "(file)" for p in found):
            continue
        try:
            data = json.loads(item.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if not isinstance(data, dict):
            continue
        uid, title = data.get("uid"), data.get("title")
        if isinstance(uid, str) and uid:
            if uid in uids:
                problems.append(Problem("error", source, None, "dashboard", "uid",
                                        f"uid {uid!r} is also used by {uids[uid]}; Grafana loads only one of them"))
            uids.setdefault(uid, source)
        if isinstance(title, str) and title:
            key = (item.folder, title.strip())
            if key in titles:
                problems.append(Problem("error", source, None, "dashboard", "title", f"title {title!r} is also used by "
                                        f"{titles[key]} in folder {item.folder!r}; Grafana refuses two dashboards of one name in a folder"))
            titles.setdefault(key, source)
    return problems

