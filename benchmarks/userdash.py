"""Ten user dashboards, ~400 panels, and the node_exporter- and app-shaped series they read.

The dashboards mix the layouts and features verify resolves: legacy ``rows[]`` and top-level
rows (collapsed too), query variables run live (chained, include-All, multi-value), repeated
panels, library panels from ``__elements``, a PostgreSQL panel per dashboard (skipped), hidden
targets and an annotation query each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from stackctl.seeding.generate import Series, make_labels

DASHBOARDS = 10
PANELS_PER_DASHBOARD = 40
HOSTS = ("web-1", "web-2", "db-1")
HISTORY_S, STEP_S = 1800, 15
_EXPRS = (
    'sum by (mode) (rate(node_cpu_seconds_total{instance=~"$instance"}[$__rate_interval]))',
    'node_load1{instance=~"$instance"}',
    'rate(node_disk_io_time_seconds_total{instance=~"$instance", device="sda"}[$__rate_interval])',
    'sum(rate(app_requests_total{job="$job"}[5m])) by (instance)',
    'histogram_quantile(0.95, sum by (le) (rate(app_request_seconds_bucket{job="$job"}[$__rate_interval])))',
    'app_requests_total{job="$job"} unless app_requests_errors_total',
    'increase(app_gc_seconds_total{job=~"$job"}[$__range])',
    'count(up{job=~"$job"} == 1) or vector(0)',
)


def series(now: float) -> list[Series]:
    n = HISTORY_S // STEP_S
    ts = int((now - HISTORY_S) * 1000) + np.arange(n, dtype=np.int64) * STEP_S * 1000
    ramp, flat = np.arange(n, dtype=np.float64), np.ones(n)

    def s(name: str, labels: dict[str, str], values: np.ndarray) -> Series:
        return Series(make_labels(name, labels), ts, values.astype(np.float64))

    out = []
    for host in HOSTS:
        inst = {"instance": f"{host}:9100", "job": "node"}
        out += [s("node_uname_info", {**inst, "nodename": host}, flat), s("node_load1", inst, flat),
                s("node_disk_io_time_seconds_total", {**inst, "device": "sda"}, ramp)]
        out += [s("node_cpu_seconds_total", {**inst, "cpu": "0", "mode": m}, ramp) for m in ("idle", "user")]
    for job in ("api", "worker"):
        labels = {"job": job, "instance": f"{job}-1:8000"}
        out += [s("up", labels, flat), s("app_requests_total", labels, 5 * ramp), s("app_gc_seconds_total", labels, ramp)]
        out += [s("app_request_seconds_bucket", {**labels, "le": le}, k * ramp) for le, k in (("0.1", 1), ("1", 2), ("+Inf", 3))]
    return out


def _panel(i: int, **extra: Any) -> dict[str, Any]:
    """Panel ``i`` (unique across dashboards: ``i`` includes the dashboard number)."""
    return {"id": i, "type": "timeseries", "title": f"Panel {i}", "gridPos": {"x": (i % 3) * 8, "y": (i % 100) // 3 * 6, "w": 8, "h": 6},
            "datasource": {"type": "prometheus", "uid": "${DS_PROM}"},
            # `+ 0 * <n>`: every panel a distinct query, so verify's de-duplication does not flatter it
            "targets": [{"refId": "A", "expr": f"({_EXPRS[i % len(_EXPRS)]}) + 0 * {i}"},
                        {"refId": "B", "expr": "up", "hide": True}], **extra}


def dashboard(n: int) -> dict[str, Any]:
    base = n * 100
    panels: list[dict[str, Any]] = [_panel(base + i) for i in range(1, PANELS_PER_DASHBOARD - 3)]
    panels.insert(0, {"type": "row", "title": "Overview", "collapsed": False, "panels": []})
    panels.append({"type": "row", "title": "Per host", "collapsed": True, "panels": [
        _panel(base + PANELS_PER_DASHBOARD - 2, repeat="instance")]})
    panels.append({"id": base + PANELS_PER_DASHBOARD - 1, "libraryPanel": {"uid": f"lib-{n}", "name": "Shared"}})
    panels.append({"id": base + PANELS_PER_DASHBOARD, "type": "table", "title": "Orders",
                   "datasource": {"type": "grafana-postgresql-datasource", "uid": "${DS_PG}"}, "targets": [{"refId": "A", "rawSql": "select 1"}]})
    data: dict[str, Any] = {
        "title": f"User dashboard {n}", "uid": f"user-{n}", "time": {"from": "now-6h", "to": "now"},
        "__inputs": [{"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"},
                     {"name": "DS_PG", "type": "datasource", "pluginId": "grafana-postgresql-datasource"}],
        "__elements": {f"lib-{n}": {"uid": f"lib-{n}", "name": "Shared", "model": _panel(base)}},
        "templating": {"list": [
            {"name": "job", "type": "query", "query": "label_values(app_requests_total, job)", "current": {"value": "api"}},
            {"name": "instance", "type": "query", "query": 'label_values(node_uname_info{job="node"}, instance)',
             "multi": True, "includeAll": True, "current": {"value": ["$__all"]}}]},
        "annotations": {"list": [{"name": "Restarts", "enable": True, "datasource": {"type": "prometheus", "uid": "${DS_PROM}"},
                                  "expr": "changes(node_uname_info[5m]) > 0"}]},
        "panels": panels,
    }
    if n % 3 == 0:  # every third one in the legacy rows layout
        data["rows"] = [{"title": "Legacy", "panels": data.pop("panels")}]
    return data


def write(folder: Path) -> int:
    """Write the dashboards; returns how many panels they hold."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(DASHBOARDS):
        (folder / f"user-{n}.json").write_text(json.dumps(dashboard(n)))
    return DASHBOARDS * PANELS_PER_DASHBOARD
