"""The queries to feed: every Prometheus target, variable and annotation of the dashboards,
every expression of the rule files, from files or folders of either.

Dashboards are read through the one dashboard model (``stackctl.dashboards``: every layout
Grafana loads, library panels, repeats, datasources of every form). Variables become
queries too (``label_values(metric{...}, label)`` needs that metric with that label), and a
panel repeated over a variable spreads that variable's label over two values at least.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Literal

import yaml

from stackctl.dashboards.model import Dashboard, Variable, load_dashboard
from stackctl.dashboards.schema_v2 import is_v2
from stackctl.errors import ScenarioError, StackctlError
from stackctl.render.rulefiles import rule_groups
from stackctl.seeding.scenario import parse_duration
from stackctl.seeding.synth.alerts import Rule
from stackctl.seeding.synth.logs import Listed, LogTarget
from stackctl.seeding.synth.model import Query

_LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$", re.S)
MAX_COPIES = 6  # repeated copies fed; Grafana shows more, each one reads the same metrics
_QUERY_RESULT = re.compile(r"^\s*query_result\((.+)\)\s*$", re.S)


@dataclass
class Inputs:
    queries: list[Query] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what was not read, and why
    logs: list[LogTarget] = field(default_factory=list)  # the LogQL targets: streams to write
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


# --- dashboards (through the one dashboard model) ------------------------------------------------

def _dashboard(path: Path, out: Inputs) -> None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        out.skipped.append(f"{path}: not JSON ({exc})")
        return
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict):
        data = data["dashboard"]  # an API export ({"dashboard": ..., "meta": ...})
    if not isinstance(data, dict) or not ("panels" in data or "rows" in data or "templating" in data or is_v2(data)):
        out.skipped.append(f"{path}: not a Grafana dashboard")
        return
    try:
        dash = load_dashboard(data, path)
    except StackctlError as exc:
        out.skipped.append(f"{path}: {exc.message}")
        return
    out.files.append(str(path))
    static, labels_of = _variables(dash, path.name, out)
    listed = {v.name: _listed(v) for v in dash.variables if v.type == "query"}
    for panel in dash.panels:
        skip = panel.skip_reason()
        if skip is not None:
            if panel.targets:
                out.skipped.append(f"{path.name}: {panel.title or 'panel'}: {skip}")
            continue
        out.panels += 1
        spread = frozenset({labels_of[r] for r in panel.repeats_over if r in labels_of})
        for scope in _repeat_scopes(panel.repeats_over, static):
            for t in panel.visible_targets:
                if t.kind == "prometheus" and t.expr.strip():
                    out.queries.append(Query(t.expr, f"{path.name}: {panel.title or 'panel'}", spread, scope,
                                             legend=legend_labels(t.legend)))
                elif t.kind == "loki" and t.expr.strip():
                    out.logs.append(LogTarget(t.expr, f"{path.name}: {panel.title or 'panel'}", scope, listed))
    for ann in dash.annotations:
        if not ann.builtin and ann.enabled and ann.datasource.type == "prometheus" and ann.expr.strip():
            out.queries.append(Query(ann.expr, f"{path.name}: annotation {ann.name}", frozenset(), static))
        elif not ann.builtin and ann.enabled and ann.datasource.type == "loki" and ann.expr.strip():
            out.logs.append(LogTarget(ann.expr, f"{path.name}: annotation {ann.name}", static, listed))


def legend_labels(legend: str | None) -> frozenset[str]:
    """The labels a legendFormat names (``{{name}} {{ area }}``), bar ``le`` and ``__name__``
    (a histogram's buckets and the metric name come without asking)."""
    return frozenset(n for n in _LEGEND_LABEL.findall(legend or "") if n != "le" and not n.startswith("__"))


def _listed(v: Variable) -> Listed:
    """What a LogQL target's ``$v`` resolves from: a Prometheus ``label_values`` or Loki's own labels."""
    m = _LABEL_VALUES.match(v.query)
    prom = m is not None and (v.datasource is None or v.datasource.type == "prometheus")
    return Listed((m.group(1) or "") if prom and m else None, m.group(2) if m else v.name, v.sort, v.regex, v.current)


def _repeat_scopes(repeats: tuple[str, ...], static: dict[str, str]) -> list[dict[str, str]]:
    """A panel repeated over a static multi-value variable: one set of values per copy."""
    scopes = [dict(static)]
    for name in repeats:
        if "|" in static.get(name, ""):
            scopes = [{**sc, name: v} for sc in scopes for v in static[name].split("|")[:MAX_COPIES]]
    return scopes[:MAX_COPIES]


def _static_value(v: Variable) -> str:
    """A custom/constant/textbox/interval variable's value as a panel would use it."""
    current = [c for c in v.current if c not in ("$__all", "")]
    if current:
        return "|".join(current)  # several selected values: exprs.substitute picks by operator
    options = [val for _text, val in v.options if val not in ("$__all", "")]
    if "$__all" in v.current and options:
        return "|".join(options)
    if options:
        return options[0]
    first = v.query.split(",")[0].strip()
    return first.split(" : ")[-1].strip() if v.type == "custom" else first


def _never_refreshed(v: Variable) -> bool:
    """A query variable saved with refresh "Never" and its options: Grafana shows the saved
    options and selection and never runs the query, so panels ask for those saved values."""
    return v.type == "query" and v.raw.get("refresh") == 0 and bool(v.options)


def _variables(dash: Dashboard, source: str, out: Inputs) -> tuple[dict[str, str], dict[str, str]]:
    """(static variable -> value, label_values variable -> its label); their queries join the inputs."""
    static = {v.name: _static_value(v) for v in dash.variables if v.type in ("custom", "constant", "textbox", "interval")
              or _never_refreshed(v)}
    labels_of: dict[str, str] = {}
    for var in dash.variables:
        if var.name in static or var.type != "query" or (var.datasource is not None and var.datasource.type not in ("prometheus",)):
            continue
        m = _LABEL_VALUES.match(var.query)
        if m:
            labels_of[var.name] = m.group(2)
            if m.group(1):
                out.queries.append(Query(m.group(1), f"{source}: variable {var.name}", frozenset({m.group(2)}),
                                         static, defines=var.name, regex=var.regex))
            continue
        m = _QUERY_RESULT.match(var.query)
        if m:
            out.queries.append(Query(m.group(1), f"{source}: variable {var.name}", frozenset(), static, defines=var.name))
    return static, labels_of


# --- rule files -------------------------------------------------------------------------------

def _rule_file(path: Path, out: Inputs) -> None:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as exc:
        out.skipped.append(f"{path}: not YAML ({exc})")
        return
    groups = rule_groups(docs).groups  # plain, or wrapped (PrometheusRule, ConfigMap, Helm values...) as `rules:` reads it
    if not groups:
        out.skipped.append(f"{path}: no rule groups (not a Prometheus rule file)")
        return
    out.files.append(str(path))
    for g in groups:
        try:
            interval_s = parse_duration(g.get("interval") or 0)
        except ValueError:
            interval_s = 0.0
        for r in g.get("rules") or []:
            if not isinstance(r, dict) or not isinstance(r.get("expr"), (str, int, float)):
                continue
            expr = str(r["expr"]).strip()
            name = r.get("alert") or r.get("record")
            if not name:
                continue
            kind: Literal["alert", "record"] = "alert" if r.get("alert") else "record"
            try:
                for_s = parse_duration(r.get("for") or 0)
            except ValueError:
                for_s = 0.0
            labels = tuple(sorted((str(k), str(v)) for k, v in (r.get("labels") or {}).items()))
            out.rules.append(Rule(str(name), expr, kind, for_s, labels, str(path), interval_s))
            out.queries.append(Query(expr, f"{path.name}: {name}"))
