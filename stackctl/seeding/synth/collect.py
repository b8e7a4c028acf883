"""The queries to feed: every Prometheus target, variable and annotation of the dashboards,
every expression of the rule files, from files or folders of either.

Dashboards are read in every layout Grafana loads (top-level ``panels``, collapsed rows'
nested panels, legacy ``rows[]``, library panels from ``__elements``). Variables become
queries too (``label_values(metric{...}, label)`` needs that metric with that label), and a
panel repeated over a variable spreads that variable's label over two values at least.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

from stackctl.errors import ScenarioError
from stackctl.seeding.scenario import parse_duration
from stackctl.seeding.synth.alerts import Rule
from stackctl.seeding.synth.model import Query

_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^\s*query_result\((.+)\)\s*$", re.S)
_NOT_PROM = ("loki", "elasticsearch", "postgres", "mysql", "influxdb", "graphite", "tempo", "jaeger", "cloudwatch",
             "testdata", "grafana-postgresql-datasource", "mssql", "datasource")


@dataclass
class Inputs:
    queries: list[Query] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what was not read, and why
    panels: int = 0


def collect(paths: Iterable[Path]) -> Inputs:
    """Read dashboards (``*.json``) and rule files (``*.yaml``/``*.yml``), folders recursively."""
    out = Inputs()
    for path in _files(paths):
        if path.suffix == ".json":
            _dashboard(path, out)
        else:
            _rule_file(path, out)
    if not out.files:
        raise ScenarioError("no dashboard or rule file among " + ", ".join(str(p) for p in paths),
                            hint="pass Grafana dashboard JSON files, Prometheus rule files or folders of them")
    return out


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for p in paths:
        if not p.exists():
            raise ScenarioError(f"{p}: no such file or folder", hint="check the path given to --from")
        found = sorted(x for x in p.rglob("*") if x.suffix in (".json", ".yaml", ".yml") and x.is_file()) \
            if p.is_dir() else [p]
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                yield f


# --- dashboards -------------------------------------------------------------------------------

def _dashboard(path: Path, out: Inputs) -> None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        out.skipped.append(f"{path}: not JSON ({exc})")
        return
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict):
        data = data["dashboard"]
    if not isinstance(data, dict) or not ("panels" in data or "rows" in data or "templating" in data):
        out.skipped.append(f"{path}: not a Grafana dashboard")
        return
    out.files.append(str(path))
    variables = _variables(data, str(path), out)
    static = {name: v for name, (kind, v) in variables.items() if kind == "static"}
    labels_of = {name: v for name, (kind, v) in variables.items() if kind == "label"}
    elements = data.get("__elements") if isinstance(data.get("__elements"), dict) else {}
    for panel, repeat in _panels(data):
        panel = _library(panel, elements)
        targets = [t for t in panel.get("targets") or [] if isinstance(t, dict)]
        if targets:
            out.panels += 1
        spread = frozenset({labels_of[r] for r in repeat if r in labels_of})
        for t in targets:
            if t.get("hide") or not isinstance(t.get("expr"), str) or not t["expr"].strip():
                continue
            if _foreign(t.get("datasource")) or _foreign(panel.get("datasource")):
                continue
            out.queries.append(Query(t["expr"], f"{path.name}: {panel.get('title') or 'panel'}", spread, static))
    for ann in (data.get("annotations") or {}).get("list") or []:
        if isinstance(ann, dict) and isinstance(ann.get("expr"), str) and ann["expr"].strip() and not _foreign(ann.get("datasource")):
            out.queries.append(Query(ann["expr"], f"{path.name}: annotation {ann.get('name', '')}", frozenset(), static))


def _foreign(ds: Any) -> bool:
    """A datasource that is surely not Prometheus (Loki, SQL, ...)."""
    if isinstance(ds, dict):
        kind = str(ds.get("type") or "").lower()
        return bool(kind) and kind != "prometheus" and not kind.startswith("$") and "prometheus" not in kind
    if isinstance(ds, str):
        low = ds.lower()
        return any(k in low for k in _NOT_PROM[:-1]) and "prom" not in low
    return False


def _panels(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple[str, ...]]]:
    for row in data.get("rows") or []:
        if isinstance(row, dict):
            rrep = (row["repeat"],) if isinstance(row.get("repeat"), str) and row["repeat"] else ()
            for p in row.get("panels") or []:
                if isinstance(p, dict):
                    yield p, rrep + _repeat(p)
    yield from _nested(data.get("panels") or [], ())


def _nested(panels: list[Any], outer: tuple[str, ...]) -> Iterator[tuple[dict[str, Any], tuple[str, ...]]]:
    for p in panels:
        if not isinstance(p, dict):
            continue
        rep = outer + _repeat(p)
        if p.get("type") == "row":
            yield from _nested(p.get("panels") or [], rep)
            continue
        yield p, rep
        if isinstance(p.get("panels"), list):
            yield from _nested(p["panels"], rep)


def _repeat(panel: dict[str, Any]) -> tuple[str, ...]:
    r = panel.get("repeat")
    return (r,) if isinstance(r, str) and r else ()


def _library(panel: dict[str, Any], elements: dict[str, Any]) -> dict[str, Any]:
    ref = panel.get("libraryPanel")
    if not isinstance(ref, dict) or panel.get("targets"):
        return panel
    el = elements.get(ref.get("uid", "")) or next((e for e in elements.values() if isinstance(e, dict)
                                                   and e.get("name") == ref.get("name")), None)
    model = el.get("model") if isinstance(el, dict) else None
    return {**model, **{k: v for k, v in panel.items() if k != "libraryPanel"}} if isinstance(model, dict) else panel


def _var_query(var: dict[str, Any]) -> str:
    q = var.get("query")
    if isinstance(q, dict):
        q = q.get("query") or q.get("qryType") and q.get("query") or ""
    return str(q or var.get("definition") or "")


def _current(var: dict[str, Any]) -> str:
    cur = var.get("current") or {}
    value = cur.get("value") if isinstance(cur, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    if value in (None, "", "$__all"):
        opts = [o.get("value") for o in var.get("options") or [] if isinstance(o, dict) and o.get("value") not in ("$__all",)]
        value = opts[0] if opts else None
    if value is None and var.get("type") == "custom":
        value = str(var.get("query") or "").split(",")[0].strip()
    return str(value or "")


def _variables(data: dict[str, Any], source: str, out: Inputs) -> dict[str, tuple[str, str]]:
    """name -> ("static", value) | ("label", label name) | ("other", "")."""
    found: dict[str, tuple[str, str]] = {}
    for var in (data.get("templating") or {}).get("list") or []:
        if not isinstance(var, dict) or not var.get("name"):
            continue
        name, kind = str(var["name"]), var.get("type")
        if kind in ("custom", "constant", "textbox", "interval"):
            found[name] = ("static", _current(var))
            continue
        if kind != "query" or _foreign(var.get("datasource")):
            found[name] = ("other", "")
            continue
        q = _var_query(var)
        m = _LABEL_VALUES.match(q)
        if m:
            found[name] = ("label", m.group(2))
            if m.group(1):
                out.queries.append(Query(m.group(1), f"{Path(source).name}: variable {name}", frozenset({m.group(2)})))
            continue
        m = _QUERY_RESULT.match(q)
        if m:
            out.queries.append(Query(m.group(1), f"{Path(source).name}: variable {name}"))
        found[name] = ("other", "")
    return found


# --- rule files -------------------------------------------------------------------------------

def _rule_file(path: Path, out: Inputs) -> None:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as exc:
        out.skipped.append(f"{path}: not YAML ({exc})")
        return
    groups = []
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("spec"), dict):
            doc = doc["spec"]  # a PrometheusRule resource
        if isinstance(doc, dict) and isinstance(doc.get("groups"), list):
            groups += [g for g in doc["groups"] if isinstance(g, dict)]
    if not groups:
        out.skipped.append(f"{path}: no rule groups (not a Prometheus rule file)")
        return
    out.files.append(str(path))
    for g in groups:
        for r in g.get("rules") or []:
            if not isinstance(r, dict) or not isinstance(r.get("expr"), (str, int, float)):
                continue
            expr = str(r["expr"]).strip()
            name = r.get("alert") or r.get("record")
            if not name:
                continue
            kind = "alert" if r.get("alert") else "record"
            try:
                for_s = parse_duration(r.get("for") or 0)
            except ValueError:
                for_s = 0.0
            labels = tuple(sorted((str(k), str(v)) for k, v in (r.get("labels") or {}).items()))
            out.rules.append(Rule(str(name), expr, kind, for_s, labels, str(path)))
            out.queries.append(Query(expr, f"{path.name}: {name}"))
