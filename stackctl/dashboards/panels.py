"""Dashboards as verification sees them: every panel's queries, with Grafana's macros and
template variables resolved the way Grafana would on first load of the dashboard.

Resolution choices (Grafana computes some of these from the panel's pixel width):

* ``$__interval``: the query step, ``range / 60`` but at least 15 s and at least the panel's
  (or target's) ``interval``; Grafana's is ``range / max data points``, close enough to pick
  the same windows for ``increase(x[$__interval])``.
* ``$__rate_interval``: ``max($__interval + scrape, 4 * scrape)``, Grafana's own definition,
  with the datasource's ``timeInterval`` (15 s in the shipped provisioning) as scrape interval.
* ``$__range``: the dashboard's default time range (``now-1h`` -> ``3600s``).
* variables: their saved ``current`` value; "All" becomes the variable's ``allValue``, or
  ``.*`` (what Prometheus regex matchers need to match everything); several selected values
  become ``(a|b)``, Grafana's Prometheus formatting of multi-value variables.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

from stackctl.dashboards.files import read_json as load_dashboard, resolve_inputs

MIN_STEP = 15.0
DEFAULT_SCRAPE = 15.0
ALL = "$__all"
_VAR = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\[\[(\w+)(?::[\w]+)?\]\]|\$(\w+)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
_REL = re.compile(r"^now(?:-(\d+)([smhdwMy]))?(?:/[smhdwMy])?$")


@dataclass(frozen=True)
class Target:
    ref_id: str
    datasource: str  # prometheus | loki | other:<what>
    raw: str  # the expression as written in the dashboard
    expr: str  # with macros and variables resolved


@dataclass(frozen=True)
class Panel:
    title: str
    type: str
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class Window:
    """The dashboard's default time range, as epoch seconds, and the query step."""

    start: float
    end: float
    step: float

    @property
    def range(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Dashboard:
    title: str
    path: Path
    window: Window
    panels: tuple[Panel, ...] = field(default=())


def format_seconds(seconds: float) -> str:
    """Prometheus duration text: ``60`` -> ``1m``, ``75`` -> ``75s``."""
    whole = int(math.ceil(seconds))
    for unit, size in (("h", 3600), ("m", 60)):
        if whole % size == 0 and whole >= size:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def parse_seconds(text: str | None) -> float | None:
    """``"1m"``, ``"30s"``, ``">15s"`` (Grafana's min-interval form) -> seconds."""
    if not text:
        return None
    m = re.fullmatch(r">?\s*(\d+(?:\.\d+)?)(ms|s|m|h|d)", str(text).strip())
    if not m:
        return None
    return float(m.group(1)) * (0.001 if m.group(2) == "ms" else _UNITS[m.group(2)])


def parse_time(value: Any, now: float) -> float:
    """Grafana's ``time.from``/``time.to``: ``now``, ``now-6h``, ``now/d``, epoch ms, ISO dates.

    Rounding (``/d``) is ignored: verification cares about the span, not the alignment.
    """
    text = str(value).strip()
    m = _REL.match(text)
    if m:
        return now - (int(m.group(1)) * _UNITS[m.group(2)] if m.group(1) else 0)
    if text.isdigit():
        return int(text) / 1000.0
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return now - 3600  # an unreadable range: Grafana's default, the last hour
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def window_for(data: Mapping[str, Any], now: float, min_step: float | None = None) -> Window:
    time_ = data.get("time") or {}
    start, end = parse_time(time_.get("from", "now-1h"), now), parse_time(time_.get("to", "now"), now)
    if end <= start:
        start = end - 3600
    step = max((end - start) / 60, MIN_STEP, min_step or 0)
    return Window(start, end, step)


def _current(var: Mapping[str, Any]) -> list[str]:
    current = var.get("current") or {}
    value = current.get("value") if isinstance(current, dict) else None
    if value is None and var.get("type") in ("textbox", "constant"):
        value = var.get("query", "")
    if value is None:
        options = [o for o in var.get("options") or [] if isinstance(o, dict)]
        chosen = [o for o in options if o.get("selected")] or options[:1]
        value = [o.get("value") for o in chosen]
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if v is not None]


def variable_values(data: Mapping[str, Any]) -> dict[str, str]:
    """Each template variable's value as it would be substituted into a Prometheus query."""
    out: dict[str, str] = {}
    for var in (data.get("templating") or {}).get("list") or []:
        name = var.get("name")
        if not name:
            continue
        values = _current(var)
        if var.get("type") == "datasource":
            out[name] = values[0] if values and values[0] not in ("default", ALL) else str(var.get("query", ""))
        elif not values or ALL in values or values == ["All"]:
            out[name] = var.get("allValue") or ".*"
        elif len(values) > 1:
            out[name] = "(" + "|".join(re.escape(v) for v in values) + ")"
        else:
            out[name] = values[0]
    return out


def macros(window: Window, step: float, scrape: float) -> dict[str, str]:
    rate = max(step + scrape, 4 * scrape)
    return {
        "__interval": format_seconds(step), "__interval_ms": str(int(step * 1000)),
        "__rate_interval": format_seconds(rate), "__rate_interval_ms": str(int(rate * 1000)),
        "__range": format_seconds(window.range), "__range_s": str(int(window.range)),
        "__range_ms": str(int(window.range * 1000)),
    }


def resolve(expr: str, values: Mapping[str, str]) -> str:
    """Substitute ``$x``, ``${x}``, ``${x:fmt}`` and ``[[x]]``; unknown names stay as written."""
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        return values.get(name, m.group(0))

    return _VAR.sub(sub, expr)


def datasource_kind(ds: Any, variables: Mapping[str, str]) -> str | None:
    """``prometheus``, ``loki``, ``mixed``, ``other:<x>``; None when the panel names none."""
    if ds is None:
        return None
    if isinstance(ds, dict):
        uid, type_ = resolve(str(ds.get("uid") or ""), variables), str(ds.get("type") or "")
    else:  # legacy: the datasource's name, or a ${DS_X} input left unresolved
        uid, type_ = resolve(str(ds), variables), ""
    key = (uid or type_).lower()
    if uid == "-- Mixed --" or type_ == "mixed":
        return "mixed"
    for kind in ("prometheus", "loki"):
        if key == kind or type_ == kind or key.startswith(kind):
            return kind
    return f"other:{uid or type_}"


def iter_panels(panels: list[Any]) -> Iterator[dict[str, Any]]:
    """Every panel, depth first; a row's own ``panels`` (collapsed rows keep them there)
    follow the row. Rows themselves, having no queries, are not yielded."""
    for panel in panels or []:
        if not isinstance(panel, dict):
            continue
        if panel.get("type") != "row":
            yield panel
        yield from iter_panels(panel.get("panels") or [])


def panel_targets(panel: Mapping[str, Any], variables: Mapping[str, str], window: Window, scrape: float) -> tuple[Target, ...]:
    """The panel's visible queries, each with its datasource and resolved expression."""
    panel_ds = datasource_kind(panel.get("datasource"), variables) or "prometheus"  # default datasource
    out = []
    for target in panel.get("targets") or []:
        if not isinstance(target, dict) or target.get("hide"):
            continue  # Grafana does not run hidden queries
        expr = target.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            continue
        kind = datasource_kind(target.get("datasource"), variables) or panel_ds
        if kind == "mixed":
            kind = "prometheus"
        step = max(window.step, parse_seconds(target.get("interval")) or 0, parse_seconds(panel.get("interval")) or 0)
        values = {**variables, **macros(window, step, scrape)}
        out.append(Target(str(target.get("refId", "")), kind, expr, resolve(expr, values)))
    return tuple(out)


def load(path: Path, now: float, scrape: float = DEFAULT_SCRAPE) -> Dashboard:
    data = resolve_inputs(load_dashboard(path), str(path))
    window = window_for(data, now)
    variables = variable_values(data)
    panels = tuple(
        Panel(str(p.get("title") or f"panel {p.get('id', '?')}"), str(p.get("type", "")), panel_targets(p, variables, window, scrape))
        for p in iter_panels(data.get("panels") or [])
    )
    return Dashboard(str(data.get("title") or path.stem), path, window, panels)


def dashboard_files(rendered: Path, shipped: Path, extra: tuple[Path, ...] = ()) -> list[Path]:
    """Every provisioned dashboard (the rendered tree, else the shipped one) plus ``extra``
    folders or files, without duplicates."""
    root = rendered if rendered.is_dir() and any(rendered.rglob("*.json")) else shipped
    files = sorted(root.rglob("*.json")) if root.is_dir() else []
    for item in extra:
        files += sorted(item.rglob("*.json")) if item.is_dir() else [item]
    return list(dict.fromkeys(p.resolve() for p in files))


def scrape_interval(datasources_file: Path) -> float:
    """The Prometheus datasource's ``timeInterval`` (Grafana's scrape interval for macros)."""
    try:
        doc = yaml.safe_load(datasources_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return DEFAULT_SCRAPE
    for ds in doc.get("datasources") or []:
        if isinstance(ds, dict) and ds.get("type") == "prometheus":
            return parse_seconds((ds.get("jsonData") or {}).get("timeInterval")) or DEFAULT_SCRAPE
    return DEFAULT_SCRAPE

