"""Generates the packs' Grafana dashboards: ``python grafana/generate.py`` from the repo root.

The JSON under ``grafana/dashboards/<pack>/`` is what Grafana provisions and what reviewers
read; this script is its source. Plain dicts, no SDK: the dashboard JSON model is small, and
the output stays byte-for-byte reproducible (sorted keys, 2-space indent, trailing newline).
``--check`` exits 1 if a committed file differs from a fresh generation (a unit test does
the same). Every panel and target names its datasource by the fixed UIDs of
``grafana/provisioning/datasources/datasources.yml``, so nothing needs ``${DS_...}`` inputs.

PromQL comes from the seeds (``shared/seeds/NNN_*.txt``); each panel's description says
which section. rate() windows are at most 15m so a 30-minute seeded history fills them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

Json = dict[str, Any]

PROM: Json = {"type": "prometheus", "uid": "prometheus"}
LOKI: Json = {"type": "loki", "uid": "loki"}
SCHEMA_VERSION = 39
OUT_DIR = Path(__file__).resolve().parent / "dashboards"


# --- panels -------------------------------------------------------------------------------


def prom(expr: str, legend: str = "", instant: bool = False) -> Json:
    """A Prometheus target (refIds are assigned by the panel)."""
    return {"datasource": PROM, "expr": expr, "legendFormat": legend or "__auto", "range": not instant, "instant": instant}


def loki(expr: str) -> Json:
    return {"datasource": LOKI, "expr": expr, "queryType": "range"}


def _thresholds(steps: tuple[float, ...]) -> Json:
    # One threshold is the alert line (red); two are warning (orange) and critical (red).
    colors = ("orange", "red")[-len(steps):] if steps else ()
    out: list[Json] = [{"color": "green", "value": None}]
    out += [{"color": color, "value": value} for color, value in zip(colors, steps)]
    return {"mode": "absolute", "steps": out}


def _panel(kind: str, title: str, description: str, targets: list[Json], unit: str, steps: tuple[float, ...]) -> Json:
    datasource = targets[0]["datasource"]
    for ref, target in zip("ABCDEFGH", targets):
        target["refId"] = ref
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": datasource,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": _thresholds(steps)}, "overrides": []},
        "options": {},
    }


_LEGEND = {"displayMode": "list", "placement": "bottom", "showLegend": True}
_REDUCE_LAST = {"calcs": ["lastNotNull"], "fields": "", "values": False}


def timeseries(title: str, description: str, targets: list[Json], unit: str = "short", steps: tuple[float, ...] = ()) -> Json:
    panel = _panel("timeseries", title, description, targets, unit, steps)
    # Thresholds from the alert rules are drawn as lines, so a reader sees how close a series is.
    panel["fieldConfig"]["defaults"]["custom"] = {"thresholdsStyle": {"mode": "line" if steps else "off"}}
    panel["options"] = {"legend": _LEGEND, "tooltip": {"mode": "multi", "sort": "desc"}}
    return panel


def stat(title: str, description: str, targets: list[Json], unit: str = "short", steps: tuple[float, ...] = ()) -> Json:
    panel = _panel("stat", title, description, targets, unit, steps)
    panel["options"] = {
        "reduceOptions": _REDUCE_LAST,
        "colorMode": "value",
        "graphMode": "area",
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": "auto",
    }
    return panel


def gauge(title: str, description: str, targets: list[Json], maximum: float, unit: str = "short", steps: tuple[float, ...] = ()) -> Json:
    panel = _panel("gauge", title, description, targets, unit, steps)
    panel["fieldConfig"]["defaults"].update({"min": 0, "max": maximum})
    panel["options"] = {"reduceOptions": _REDUCE_LAST, "showThresholdLabels": False, "showThresholdMarkers": True}
    return panel


def bargauge(title: str, description: str, targets: list[Json], unit: str = "short") -> Json:
    panel = _panel("bargauge", title, description, targets, unit, ())
    panel["options"] = {"reduceOptions": _REDUCE_LAST, "displayMode": "basic", "orientation": "horizontal", "showUnfilled": True}
    return panel


def piechart(title: str, description: str, targets: list[Json]) -> Json:
    panel = _panel("piechart", title, description, targets, "short", ())
    panel["options"] = {"reduceOptions": _REDUCE_LAST, "pieType": "pie", "legend": _LEGEND, "tooltip": {"mode": "single", "sort": "none"}}
    return panel


def heatmap(title: str, description: str, targets: list[Json]) -> Json:
    panel = _panel("heatmap", title, description, targets, "short", ())
    # Each series (one per label value) is a row of the heatmap; values are already counts.
    panel["options"] = {"calculate": False, "color": {"mode": "scheme", "scheme": "Oranges"}, "yAxis": {"axisPlacement": "left"}}
    return panel


def logs(title: str, description: str, expr: str) -> Json:
    panel = _panel("logs", title, description, [loki(expr)], "short", ())
    panel["options"] = {
        "showTime": True,
        "wrapLogMessage": True,
        "sortOrder": "Descending",
        "enableLogDetails": True,
        "dedupStrategy": "none",
        "prettifyLogMessage": False,
        "showCommonLabels": False,
        "showLabels": False,
    }
    return panel


# --- layout ---------------------------------------------------------------------------------


@dataclass
class Dashboard:
    """Lays panels out left to right in a 24-column grid, numbering them in order."""

    uid: str
    title: str
    pack: str
    seed: str
    description: str
    variables: list[Json] = field(default_factory=list)
    panels: list[Json] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _row_height: int = 0

    def _next_id(self) -> int:
        return len(self.panels) + 1

    def row(self, title: str) -> Dashboard:
        self._newline()
        self.panels.append({"type": "row", "title": title, "id": self._next_id(), "collapsed": False, "panels": [], "gridPos": {"h": 1, "w": 24, "x": 0, "y": self._y}})
        self._y += 1
        return self

    def add(self, panel: Json, w: int = 12, h: int = 8) -> Dashboard:
        if self._x + w > 24:
            self._newline()
        panel.update(id=self._next_id(), gridPos={"h": h, "w": w, "x": self._x, "y": self._y})
        self.panels.append(panel)
        self._x += w
        self._row_height = max(self._row_height, h)
        return self

    def _newline(self) -> None:
        self._y += self._row_height
        self._x = self._row_height = 0

    def to_json(self) -> Json:
        firing = {
            "name": "Firing alerts",
            "datasource": PROM,
            "enable": True,
            "iconColor": "red",
            # Alert states of this pack's rules, as Prometheus records them.
            "expr": f'ALERTS{{alertstate="firing",pack="{self.pack}"}}',
            "step": "1m",
            "titleFormat": "{{alertname}}",
            "tagKeys": "severity",
        }
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["stackctl", f"pack-{self.pack}", f"seed-{self.seed}"],
            "editable": False,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "time": {"from": "now-1h", "to": "now"},
            "refresh": "30s",
            "timezone": "browser",
            "timepicker": {},
            "annotations": {"list": [firing]},
            "templating": {"list": self.variables},
            "links": [{"type": "dashboards", "tags": [f"pack-{self.pack}"], "asDropdown": True, "title": "Pack dashboards", "includeVars": False, "keepTime": True}],
            "panels": self.panels,
        }


def query_variable(name: str, label: str, query: str) -> Json:
    """A multi-value label variable defaulting to All (``.*``), so panels work on first load."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": PROM,
        "definition": query,
        "query": query,
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


def text_variable(name: str, label: str, default: str) -> Json:
    return {"name": name, "label": label, "type": "textbox", "query": default, "current": {"text": default, "value": default}, "options": [], "hide": 0}


def quantile(q: float, metric: str, by: str = "le", window: str = "5m", selector: str = "") -> str:
    """histogram_quantile over the rate of a classic histogram's buckets, merged by ``by``."""
    return f"histogram_quantile({q}, sum by ({by}) (rate({metric}_bucket{selector}[{window}])))"


# --- the packs' dashboards -------------------------------------------------------------------

ERR_RATIO = "sum(rate(http_errors_total[5m])) / sum(rate(http_requests_total[5m]))"


def preview() -> Dashboard:
    d = Dashboard("stackctl-preview", "Phase 2B Preview", "preview", "000", "Developer preview jobs (seed 000 §2).")
    d.add(timeseries(
        "Preview jobs per minute",
        # FIX: the seed's query is rate(), i.e. per second, under a "per minute" title.
        "Jobs enqueued per minute by scenario (seed 000 §2.2; the seed's rate() is per second, so x60).",
        [prom("60 * sum by (scenario) (rate(preview_generation_jobs_total[5m]))", "{{scenario}}")], "short"))
    d.add(timeseries(
        "Job outcomes (%)", "Share of completed jobs by outcome (seed 000 §2.3). Alert: failed > 10% (§3.1).",
        # Seed fix: the seed divides a by-(outcome) sum by an unlabelled sum, which matches no
        # series (the label sets differ); `ignoring(outcome) group_left` is the intended share.
        [prom("100 * sum by (outcome) (rate(preview_generation_jobs_completed_total[15m]))\n/ ignoring(outcome) group_left\nsum (rate(preview_generation_jobs_completed_total[15m]))", "{{outcome}}")],
        "percent", (10,)))
    d.add(timeseries(
        "Preview queue depth", "Jobs still queued, by backend (seed 000 §2.4). Alert: > 10 for 5m (§3.3).",
        [prom("preview_generation_queue_depth", "{{backend}}")], "short", (10,)))
    # Inline, not the recording rule: recorded series only exist from when Prometheus
    # evaluated them, while seeded history is written into the past.
    d.add(timeseries(
        "Job duration (p95 ms)", "p95 of ready jobs (seed 000 §2.5; same PromQL as the recording rule). Alert: > 300000 ms for 15m (§3.2).",
        [prom(quantile(0.95, "preview_generation_job_duration_ms", window="15m", selector='{outcome="ready"}'), "p95")], "ms", (300000,)))
    d.add(timeseries(
        "Finance privacy denials (per second)", "Finance API requests rejected by the ownership/privacy guard (seed 000 §2.6). Alert: any, for 5m (§3.4).",
        [prom("sum by (reason) (rate(finance_privacy_denials_total[5m]))", "{{reason}}")], "reqps"))
    d.add(logs(
        "Preview job logs", "Preview job logs; search a job id from an alert (seed 000 §4 'Investigate failures').",
        '{service="preview-jobs"} |~ "$job_id"'))
    d.variables.append(text_variable("job_id", "Job id (regex)", ".*"))
    return d


def media_clustering() -> Dashboard:
    d = Dashboard("stackctl-media-clustering", "Media Clustering – Pipeline Health", "media-clustering", "001",
                  "Redis Streams clustering pipeline (seed 001 'Dashboard Layout').")
    fail = 'cluster_jobs_total{outcome!="success"}'
    d.row("Outcomes Overview")
    d.add(stat("Successful jobs", "cluster_jobs_total{outcome=\"success\"} over the time range (seed 001 row 1).",
               [prom('sum(increase(cluster_jobs_total{outcome="success"}[$__range]))', instant=True)]), w=8)
    d.add(stat("Failed jobs", "cluster_jobs_total{outcome!=\"success\"} over the time range (seed 001 row 1).",
               [prom(f"sum(increase({fail}[$__range]))", instant=True)], steps=(1,)), w=8)
    d.add(gauge("Noise count (last run)", "Noise points retained after the latest run: typical < 15, warn > 30 (seed 001).",
                [prom("max(cluster_last_noise_count)")], 60, steps=(15, 30)), w=8)
    d.row("Throughput & Latency")
    d.add(timeseries("Job throughput (per minute)", "success/min and failures/min. Alerts: failures > 1/min warn, > 3/min critical (seed 001).",
                     [prom('60 * sum(rate(cluster_jobs_total{outcome="success"}[5m]))', "success/min"),
                      prom(f"60 * sum(rate({fail}[5m]))", "failures/min")], "short", (1, 3)))
    d.add(timeseries("Job duration p50 / p95 by backend", "Target p95 < 3s; warn > 5s, critical > 8s (seed 001).",
                     [prom(quantile(0.5, "cluster_job_duration_seconds", "le, backend"), "p50 {{backend}}"),
                      prom(quantile(0.95, "cluster_job_duration_seconds", "le, backend"), "p95 {{backend}}")], "s", (5, 8)))
    d.row("Feedback Activity")
    d.add(timeseries("Merge / split operations (per minute)", "By operation and outcome; any failure is critical (seed 001 row 3).",
                     [prom("60 * sum by (operation, outcome) (rate(cluster_feedback_operations_total[5m]))", "{{operation}} {{outcome}}")]), w=12)
    for op in ("merge", "split"):
        d.add(stat(f"{op.title()} successes", f"Successful {op} feedback operations over the time range (seed 001 row 3).",
                   [prom(f'sum(increase(cluster_feedback_operations_total{{operation="{op}",outcome="success"}}[$__range]))', instant=True)]), w=6)
    d.row("Backlog")
    d.add(timeseries("Pending jobs", "Redis pending entries of the consumer group (legacy worker exporter): warn 100, critical 250 (seed 001).",
                     [prom("sum(media_cluster_pending_jobs)", "pending")], "short", (100, 250)))
    d.add(timeseries("Stream lag", "Idle time of the oldest pending job: warn 10s, critical 30s (seed 001).",
                     [prom("max(media_cluster_stream_lag_seconds)", "lag")], "s", (10, 30)))
    d.row("Logs")
    # A line filter, not `| json | pet_id=...`: pet_id is in the message whatever the log format.
    d.add(logs("Queue logs", 'logger="sploot-cluster.queue", filtered by pet_id (seed 001 Incident Playbook 1).',
               '{service="sploot-cluster", logger="sploot-cluster.queue"} |~ "$pet_id"'), w=24, h=10)
    d.variables.append(text_variable("pet_id", "pet_id (regex)", ".*"))
    return d


def ik_engine() -> Dashboard:
    d = Dashboard("stackctl-ik-engine", "IK Engine – API & Image Pipeline", "ik-engine", "002", "The image engine's starter dashboard (seed 002 'Grafana').")
    d.add(timeseries("Readiness p95", "api_ready_ms p95 (seed 002). Alerts: > 750 ms for 2m, > 1s for 10m.",
                     [prom("histogram_quantile(0.95, sum(rate(api_ready_ms_bucket[5m])) by (le))", "p95")], "ms", (750, 1000)))
    d.add(timeseries("Readiness request rate", "Readiness calls per second (seed 002).", [prom("sum(rate(api_ready_ms_count[5m]))", "req/s")], "reqps"))
    d.add(stat("Image processing backlog", "Images queued/processing; alert > 50 for 15m (seed 002).", [prom("sum(ik_image_processing_backlog)")], steps=(50,)), w=8)
    d.add(timeseries("Rate-limit denials (per 5m)", "Requests blocked by the rate limiter, by backend (seed 002).",
                     [prom("sum by (backend) (increase(rate_limit_denied_total[5m]))", "{{backend}}")]), w=8)
    d.add(timeseries("Metrics scrapes", "rate(metrics_exposed_total) (seed 002).", [prom("sum(rate(metrics_exposed_total[5m]))", "scrapes/s")], "ops"), w=8)
    return d


def luneo() -> Dashboard:
    d = Dashboard("stackctl-luneo", "Luneo – KPIs", "luneo", "003", "Key KPIs of the AI and render workers (seed 003 §3).")
    d.add(timeseries("Worker queue wait time", "p95 of the histogram and the current gauge; alert > 60s for 2m (seed 003 §1, §4.1).",
                     [prom(quantile(0.95, "luneo_worker_queue_wait_time_seconds"), "p95"),
                      prom("max(luneo_worker_queue_wait_time_current_seconds)", "current")], "s", (60,)))
    d.add(stat("Queue wait time alerts", "QueueWaitTimeHigh firing (seed 003 §3 'Queue wait time alerts').",
               [prom('count(ALERTS{alertname="QueueWaitTimeHigh",alertstate="firing"}) or vector(0)')], steps=(1,)), w=6)
    d.add(stat("Overall error rate", "5xx share of backend requests (luneo_requests_total); alert > 1% (seed 003 §4.2).",
               [prom('sum(rate(luneo_requests_total{status=~"5.."}[5m])) / sum(rate(luneo_requests_total[5m]))')], "percentunit", (0.01,)), w=6)
    d.add(timeseries("OpenAI request duration p95", "By model (seed 003 §1).",
                     [prom(quantile(0.95, "luneo_openai_request_duration_seconds", "le, model"), "{{model}}")], "s"))
    d.add(timeseries("OpenAI error rate", "Errors / requests; the duration histogram counts every request (seed 003 'Recording OpenAI Request').",
                     [prom("sum(rate(luneo_openai_errors_total[5m])) / sum(rate(luneo_openai_request_duration_seconds_count[5m]))", "errors")], "percentunit"))
    d.add(timeseries("Render duration p95", "By render type (seed 003 §1).", [prom(quantile(0.95, "luneo_render_duration_seconds", "le, type"), "{{type}}")], "s"))
    d.add(timeseries("Embed handshake failures (per 5m)", "Widget embed handshakes that failed (seed 003 §1).",
                     [prom("sum(increase(luneo_embed_handshake_failures_total[5m]))", "failures")]))
    d.add(timeseries("AR conversion time p95", "USDZ conversion (seed 003 §1).", [prom(quantile(0.95, "luneo_ar_conversion_duration_seconds"), "p95")], "s"))
    d.add(timeseries("AI cost vs baseline", "Current cost, baseline and the 2x alert line (seed 003 §4.3).",
                     [prom("sum(luneo_ai_cost_current_cents)", "current"), prom("sum(luneo_ai_cost_baseline_cents)", "baseline"),
                      prom("2 * sum(luneo_ai_cost_baseline_cents)", "alert: 2x baseline")], "short"))
    # Level as a name (stream label or JSON) or as Pino's number (40 warn, 50 error, 60 fatal).
    d.add(logs("Warnings and errors", "Structured logs at warn and above, with requestId / brandId / action (seed 003 §1 'Logging').",
               '{service="luneo-backend"} | json | level=~"warn|error|fatal|40|50|60"'), w=24, h=10)
    d.add(logs("Requests by action", "Logs carrying an action, filtered by any text such as a requestId or brandId (seed 003 §1 'Logging').",
               '{service="luneo-backend"} | json | action != "" |~ "$search"'), w=24, h=10)
    d.variables.append(text_variable("search", "Search logs (requestId, brandId: regex)", ".*"))
    return d


def _http(uid: str, title: str, description: str) -> Dashboard:
    return Dashboard(f"stackctl-http-service-{uid}", f"HTTP Service – {title}", "http-service", "004", description)


def http_overview() -> Dashboard:
    d = _http("overview", "System Overview", "Service health, RED metrics, pool and process usage (seed 004 §2.1).")
    d.add(stat("Service health", "up of the service's scrape job: 1 up, 0 down.", [prom('up{job="http-service"}', "{{instance}}")]), w=6)
    d.add(stat("Request rate (5m)", "Requests per second, 5m average.", [prom("sum(rate(http_requests_total[5m]))")], "reqps"), w=6)
    d.add(stat("Error rate", "Errors / requests; alerts > 1% warn, > 5% critical.", [prom(ERR_RATIO)], "percentunit", (0.01, 0.05)), w=6)
    d.add(stat("DB connections", "Active pool connections (db_connection_pool_size).", [prom("sum(db_connection_pool_size)")]), w=6)
    d.add(timeseries("Error rate trend", "Errors / requests (seed 004 §1.4, as a ratio).", [prom(ERR_RATIO, "error rate")], "percentunit", (0.01, 0.05)))
    d.add(timeseries("Response time trend", "p50 / p95 / p99; alerts: p95 > 500 ms, p99 > 1s (§2.1).",
                     [prom(quantile(q, "http_request_duration_seconds"), f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)], "s", (0.5, 1)))
    # prometheus_client names these process_*; the seed lists python_process_*. Either works.
    d.add(timeseries("Memory", "Resident memory.", [prom("sum(python_process_resident_memory_bytes or process_resident_memory_bytes)", "rss")], "bytes"))
    d.add(timeseries("CPU", "CPU seconds per second.", [prom("sum(rate(python_process_cpu_seconds_total[5m]) or rate(process_cpu_seconds_total[5m]))", "cpu")], "percentunit"))
    return d


def http_api() -> Dashboard:
    d = _http("api", "API Performance", "Endpoint-level metrics (seed 004 §2.2).")
    d.variables.append(query_variable("endpoint", "Endpoint", "label_values(http_requests_total, endpoint)"))
    sel = '{endpoint=~"$endpoint"}'
    d.add(timeseries("Request volume by endpoint", "Requests per second.", [prom(f"sum by (endpoint) (rate(http_requests_total{sel}[5m]))", "{{endpoint}}")], "reqps"))
    d.add(timeseries("Response time p95 by endpoint", "Alert on the service-wide p95 > 500 ms.",
                     [prom(quantile(0.95, "http_request_duration_seconds", "le, endpoint", selector=sel), "{{endpoint}}")], "s", (0.5,)))
    d.add(timeseries("Errors by endpoint and status", "Errors per second.", [prom(f"sum by (endpoint, status) (rate(http_errors_total{sel}[5m]))", "{{endpoint}} {{status}}")], "reqps"))
    d.add(bargauge("Slowest endpoints (p95)", "Top 5 by p95 latency.", [prom(f"topk(5, {quantile(0.95, 'http_request_duration_seconds', 'le, endpoint', selector=sel)})", "{{endpoint}}", instant=True)], "s"), w=6)
    d.add(bargauge("Most requested endpoints", "Top 5 by request rate.", [prom(f"topk(5, sum by (endpoint) (rate(http_requests_total{sel}[5m])))", "{{endpoint}}", instant=True)], "reqps"), w=6)
    return d


def http_database() -> Dashboard:
    d = _http("database", "Database", "Query and pool metrics (seed 004 §2.3).")
    d.add(timeseries("Queries by operation", "db_query_count_total per second (SELECT, INSERT, UPDATE, DELETE).",
                     [prom("sum by (operation) (rate(db_query_count_total[5m]))", "{{operation}}")], "ops"))
    d.add(timeseries("Average query duration by operation", "sum/count of db_query_duration_seconds (seed 004 §1.4).",
                     [prom("sum by (operation) (rate(db_query_duration_seconds_sum[5m])) / sum by (operation) (rate(db_query_duration_seconds_count[5m]))", "{{operation}}")], "s", (1,)))
    # le="1" (Prometheus 3 normalises) or "1.0" (prometheus_client's text format on 2.x).
    d.add(timeseries("Slow queries (> 1s)", "Queries slower than 1s per second: all minus those within the 1s bucket.",
                     [prom('sum(rate(db_query_duration_seconds_count[5m])) - sum(rate(db_query_duration_seconds_bucket{le=~"1|1.0"}[5m]))', "slow/s")], "ops"))
    d.add(timeseries("Connection pool", "Active connections (db_connection_pool_size).", [prom("sum(db_connection_pool_size)", "active")]))
    d.add(timeseries("Connection wait p95", "Time waiting for a pooled connection.", [prom(quantile(0.95, "db_connection_wait_seconds"), "p95")], "s"))
    return d


def http_business() -> Dashboard:
    d = _http("business", "Business Logic", "Validation, business rules and workflows (seed 004 §2.4).")
    d.add(timeseries("Validation failures by entity/field", "Per second.", [prom("sum by (entity, field) (rate(validation_failures_total[5m]))", "{{entity}}.{{field}}")], "ops"))
    d.add(timeseries("Business rule violations by type", "Per second.", [prom("sum by (type) (rate(business_rule_violations_total[5m]))", "{{type}}")], "ops"))
    d.add(timeseries("Workflow transitions by state", "Per second, by target state.", [prom("sum by (to_state) (rate(workflow_transitions_total[5m]))", "{{to_state}}")], "ops"))
    d.add(timeseries("Success rate", "1 - errors / requests.", [prom(f"1 - {ERR_RATIO}", "success")], "percentunit"))
    hm = heatmap("Validation failures over time", "Failures per interval, one row per entity (seed 004 'Heatmap').",
                 [prom("sum by (entity) (increase(validation_failures_total[$__interval]))", "{{entity}}")])
    hm["interval"] = "15m"
    d.add(hm)
    d.add(piechart("Failure distribution", "Validation failures by entity over the time range.",
                   [prom("sum by (entity) (increase(validation_failures_total[$__range]))", "{{entity}}", instant=True)]))
    return d


DASHBOARDS: tuple[Callable[[], Dashboard], ...] = (
    preview, media_clustering, ik_engine, luneo, http_overview, http_api, http_database, http_business,
)


# --- output ---------------------------------------------------------------------------------


def render(dashboard: Json) -> str:
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_all() -> dict[Path, str]:
    """Relative path (``<pack>/<file>.json``) -> file content, for every dashboard."""
    out: dict[Path, str] = {}
    for builder in DASHBOARDS:
        board = builder()
        out[Path(board.pack) / f"{board.uid.removeprefix('stackctl-')}.json"] = render(board.to_json())
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale: list[str] = []
    for rel, text in build_all().items():
        path = OUT_DIR / rel
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(rel))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale dashboards (run python grafana/generate.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
