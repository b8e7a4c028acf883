"""What the export targets: kube-prometheus-stack's values, labels and paths, as data.

Read from the chart (prometheus-community/helm-charts, charts/kube-prometheus-stack) and the
Prometheus Operator CRDs it ships; each constant names where it comes from, so a chart upgrade
is a review of this one file.

- ``values.yaml``: ``additionalPrometheusRulesMap`` (name -> {groups, additionalLabels}), rendered
  by ``templates/prometheus/additionalPrometheusRules.yaml`` as one PrometheusRule per key, named
  ``<chart name>-<key>`` and labelled with the chart's common labels (``release: <release>``).
- ``prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues: true`` (default) makes the Prometheus
  object select only PrometheusRules labelled ``release: <release>`` (``templates/prometheus/
  prometheus.yaml``): a rule without that label is silently ignored (chart issues #3648, #7092).
- ``prometheus.prometheusSpec.enableRemoteWriteReceiver``, ``.tsdb.outOfOrderTimeWindow``,
  ``.additionalScrapeConfigs`` (a list, passed through Helm's ``tpl``).
- ``alertmanager.config`` (a map merged over the chart's default config, so keys the export does
  not set must be nulled), ``alertmanager.tplConfig: false`` (default: the config is not passed
  through ``tpl``, so Alertmanager's own ``{{ }}`` templates survive), and
  ``alertmanager.alertmanagerSpec.secrets``: Secrets in the Alertmanager's namespace, mounted at
  ``/etc/alertmanager/secrets/<secret>/<key>``.
- ``grafana.sidecar.dashboards``: ``label: grafana_dashboard``, ``labelValue: "1"``; the Grafana
  subchart's ``folderAnnotation`` (default null: no folders) together with
  ``provider.foldersFromFilesStructure`` puts each ConfigMap's dashboards in the folder its
  annotation names.
- ``grafana.sidecar.datasources.uid: prometheus`` and ``.alertmanager.uid: alertmanager``: the uids
  of the datasources the chart provisions (``templates/grafana/_helpers.tpl``); Loki is not
  provisioned (``grafana.additionalDataSources`` adds it).
"""

from __future__ import annotations

from typing import Any

CHART = "kube-prometheus-stack"
CHART_REPO_NAME = "prometheus-community"
CHART_REPO_URL = "https://prometheus-community.github.io/helm-charts"
# The chart version the field names were read from (Chart.yaml: version 81.4.5, appVersion
# v0.88.0 = Prometheus Operator; grafana subchart 10.5.12). Every key used here has been stable
# since chart 45 (tsdb.outOfOrderTimeWindow, the newest, arrived with operator v0.62).
CHART_VERSION = "81.4.5"
OPERATOR_VERSION = "v0.88.0"

RULE_API_VERSION = "monitoring.coreos.com/v1"
RULE_KIND = "PrometheusRule"
RELEASE_LABEL = "release"

DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
FOLDER_ANNOTATION = "grafana_folder"  # our choice: the subchart default is null (no folders)

# local datasource uid (grafana/provisioning/datasources) -> the uid the chart's Grafana has
CHART_DATASOURCE_UIDS = {"prometheus": "prometheus", "alertmanager": "alertmanager"}
# their names (grafana.sidecar.datasources.name, .alertmanager.name): a legacy dashboard may name a
# datasource by name ("datasource": "Prometheus"), which Grafana resolves too
CHART_DATASOURCE_NAMES = ("Prometheus", "Alertmanager")
LOKI_UID = "loki"  # not provisioned by the chart; the export adds it when given --loki-url

ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets"

# values.yaml alertmanager.config: Helm merges the user's map over it, so every key here that
# the exported config lacks is set to null (Helm's way to delete a default key).
CHART_ALERTMANAGER_DEFAULTS: dict[str, Any] = {
    "global": {"resolve_timeout": "5m"},
    "inhibit_rules": [
        {"source_matchers": ["severity = critical"], "target_matchers": ["severity =~ warning|info"], "equal": ["namespace", "alertname"]},
        {"source_matchers": ["severity = warning"], "target_matchers": ["severity = info"], "equal": ["namespace", "alertname"]},
        {"source_matchers": ["alertname = InfoInhibitor"], "target_matchers": ["severity = info"], "equal": ["namespace"]},
        {"target_matchers": ["alertname = InfoInhibitor"]},
    ],
    "route": {"group_by": ["namespace"], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "12h",
              "receiver": "null", "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}]},
    "receivers": [{"name": "null"}],
    "templates": ["/etc/alertmanager/config/*.tmpl"],
}


def helm_merge(defaults: Any, overlay: Any) -> Any:
    """Helm's values coalescing: maps merge key by key, a null deletes, anything else replaces."""
    if not isinstance(defaults, dict) or not isinstance(overlay, dict):
        return overlay
    out = dict(defaults)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = helm_merge(defaults.get(key), value)
    return out


def null_missing_defaults(config: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """``config`` plus a null for every chart default it lacks, so Helm's merge yields ``config``."""
    defaults = CHART_ALERTMANAGER_DEFAULTS if defaults is None else defaults
    out = dict(config)
    for key, default in defaults.items():
        if key not in out:
            out[key] = None
        elif isinstance(default, dict) and isinstance(out[key], dict):
            out[key] = null_missing_defaults(out[key], default)
    return out
