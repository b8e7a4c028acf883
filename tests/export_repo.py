"""A user repository for the export tests: rules, dashboards, routes, receivers and scrape targets.

Its credentials are sentinels: the export must never write one of them, in any encoding.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

SENTINELS = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/SENTINEL-env-slack-7c1f",
    "PAGERDUTY_ROUTING_KEY": "SENTINEL-env-pagerduty-93ab",
}
INLINE_SENTINELS = ("https://hooks.slack.com/services/T111/B111/SENTINEL-inline-slack-d2e4", "SENTINEL-inline-basic-55aa",
                    "SENTINEL-inline-opsgenie-0b0b")

CONFIG = f"""\
project: shop
packs: [media-clustering, http-service]
rules: [monitoring/rules, alerts.yml]
dashboards: [dashboards/Shop Team]
scrape:
  - target: localhost:8000
    job: shop-api
    labels: {{team: shop}}
  - target: shop-worker.shop.svc:9100
    path: /internal/metrics
    interval: 30s
alertmanager:
  receivers:
    - name: shop-oncall
      slack_configs:
        - api_url: {INLINE_SENTINELS[0]}
          channel: '#shop-alerts'
          text: '{{{{ range .Alerts }}}}{{{{ .Annotations.summary }}}}{{{{ end }}}}'
    - name: shop-bot
      webhook_configs:
        - url: http://shop-bot.shop.svc:8080/alert
          http_config:
            basic_auth: {{username: alertmanager, password: {INLINE_SENTINELS[1]}}}
    - name: shop-genie
      opsgenie_configs:
        - api_key: {INLINE_SENTINELS[2]}
  routes:
    - matchers: ['team="shop"', 'severity="critical"']
      receiver: shop-oncall
      continue: true
    - matchers: ['team="shop"']
      receiver: shop-bot
"""

API_RULES = """\
groups:
  - name: shop-api
    rules:
      - record: shop:requests:rate5m
        expr: sum by (route) (rate(shop_requests_total[5m]))
      - alert: ShopApiErrors
        expr: sum(rate(shop_requests_total{code=~"5.."}[5m])) / sum(rate(shop_requests_total[5m])) > 0.05
        for: 10m
        labels: {severity: critical, team: shop}
        annotations:
          summary: 'Shop API error ratio {{ $value | humanizePercentage }}'
"""

SLO_RULES = """\
groups:
  - name: shop-slo
    interval: 1m
    rules:
      - alert: ShopLatencySLO
        expr: histogram_quantile(0.99, sum by (le) (rate(shop_request_seconds_bucket[5m]))) > 1
        for: 15m
        keep_firing_for: 0
        labels: {severity: warning, team: shop, priority: 2, page: false}
        annotations: {summary: p99 above 1s, threshold: 1.5}
"""

TOP_RULES = """\
groups:
  - name: shop-worker
    rules:
      - alert: ShopWorkerDown
        expr: up{job="app-shop-worker.shop.svc-9100"} == 0
        for: 5m
        labels: {severity: critical, team: shop}
"""


def shared_dashboard() -> dict[str, object]:
    """A dashboard as Grafana's "Export for sharing externally" writes it."""
    ds = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus"}],
        "uid": "shop-overview", "title": "Shop / Overview", "schemaVersion": 39,
        "templating": {"list": [{"name": "route", "type": "query", "datasource": ds, "query": "label_values(shop_requests_total, route)"}]},
        "panels": [
            {"id": 1, "type": "timeseries", "title": "Requests", "datasource": ds,
             "targets": [{"refId": "A", "datasource": ds, "expr": 'sum(rate(shop_requests_total{route=~"$route"}[$__rate_interval]))'}]},
            {"id": 2, "type": "stat", "title": "Firing", "datasource": {"type": "alertmanager", "uid": "alertmanager"}, "targets": []},
        ],
    }


def logs_dashboard() -> dict[str, object]:
    return {
        "uid": "shop-logs", "title": "Shop logs", "schemaVersion": 39,
        "panels": [{"id": 1, "type": "logs", "title": "Errors", "datasource": {"type": "loki", "uid": "loki"},
                    "targets": [{"refId": "A", "datasource": {"type": "loki", "uid": "loki"}, "expr": '{app="shop"} |= "error"'}]},
                   {"id": 2, "type": "timeseries", "title": "Mixed", "datasource": {"type": "datasource", "uid": "-- Mixed --"},
                    "targets": [{"refId": "A", "datasource": "prometheus", "expr": "up"}]}],
    }


def make_user_repo(root: Path) -> Path:
    """Write the repo under ``root``; return its stackctl.yaml."""
    (root / "monitoring" / "rules").mkdir(parents=True)
    (root / "monitoring" / "rules" / "api.rules.yml").write_text(API_RULES)
    (root / "monitoring" / "rules" / "slo.yaml").write_text(SLO_RULES)
    (root / "alerts.yml").write_text(TOP_RULES)
    dash_dir = root / "dashboards" / "Shop Team"
    dash_dir.mkdir(parents=True)
    (dash_dir / "overview.json").write_text(json.dumps(shared_dashboard(), indent=2))
    (dash_dir / "logs.json").write_text(json.dumps(logs_dashboard()))
    path = root / "stackctl.yaml"
    path.write_text(CONFIG)
    return path


def secret_needles() -> list[bytes]:
    """Each sentinel as it could appear: raw, JSON/YAML-escaped (the same here) and base64."""
    values = [*SENTINELS.values(), *INLINE_SENTINELS]
    needles = []
    for value in values:
        raw = value.encode()
        needles += [raw, base64.b64encode(raw), raw.split(b"SENTINEL")[1]]
    return needles


def leaked(out_dir: Path) -> list[str]:
    found = []
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.relative_to(out_dir)}: {needle!r}" for needle in secret_needles() if needle in data]
    return found
