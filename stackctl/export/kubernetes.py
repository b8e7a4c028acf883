"""``stackctl export kubernetes``: the stack's rules, routes, targets and dashboards for kube-prometheus-stack.

Everything is read from the renderer's output (``render.configs.build_files`` with the
runtime-neutral flavour), so the export is what ``stackctl up`` runs, not a re-derivation:
the effective rule files, the merged Alertmanager config, the user's scrape jobs, the
provisioned dashboards and their folders. What the chart needs different is changed here and
nowhere else: datasource uids, secret paths, the notification sink, Helm's merge of defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from stackctl.config import SECRET_ENV, Config
from stackctl.errors import ConfigError
from stackctl.export import chart
from stackctl.export.dashboards import (
    ExportedDashboard,
    configmap,
    configmap_name,
    export_dashboard,
)
from stackctl.export.model import ExportOptions, KubernetesExport, RuleSet
from stackctl.export.readme import readme, values_header
from stackctl.export.secrets import SecretPlan, externalize
from stackctl.export.yamlout import comment, dump
from stackctl.render.configs import build_files, scrape_config, secret_file
from stackctl.render.definition import load_definition
from stackctl.services import SERVICES

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
NEUTRAL = "kubernetes"  # the runtime name build_files renders a runtime-neutral copy for


def build_export(cfg: Config, options: ExportOptions) -> KubernetesExport:
    files = build_files(cfg, NEUTRAL)
    export = KubernetesExport(options, _rules(files), [], {}, _scrape(cfg), SecretPlan(options.secret_name))
    export.alertmanager = _alertmanager(_yaml(files, "alertmanager/alertmanager.yml"), export)
    export.dashboards = _dashboards(files, _uid_mapping(files))
    for name, dash in export.dashboards:
        missing = sorted(dash.datasources - export.available_uids)
        if missing:
            export.notes.append(f"dashboard {dash.title!r} ({name}) uses datasource uid(s) {', '.join(missing)}, which the chart does not provision"
                                + (": pass --loki-url to add Loki" if missing == [chart.LOKI_UID] else ""))
    for target in cfg.scrape:
        if target.target.rpartition(":")[0] in _LOCAL_HOSTS:
            export.notes.append(f"scrape target {target.target} is this machine; in the cluster, replace it with the app's Service "
                                f"(e.g. my-app.my-namespace.svc:{target.target.rpartition(':')[2]}) in values.yaml")
    if cfg.prometheus_config is not None:
        export.notes.append(f"the scrape jobs of {cfg.prometheus_config} are not exported (its rule_files are): "
                            "the cluster's Prometheus has its own; add what it lacks as ServiceMonitors")
    export.values = _values(export, _yaml(files, "prometheus/prometheus.yml"))
    return export


def _content(files: Mapping[str, bytes | Path], rel: str) -> bytes:
    value = files[rel]
    return value.read_bytes() if isinstance(value, Path) else value


def _origin(files: Mapping[str, bytes | Path], rel: str) -> str:
    """Where a rendered file comes from: the asset or user file copied, else the rendered path."""
    value = files[rel]
    return str(value) if isinstance(value, Path) else rel


def _yaml(files: Mapping[str, bytes | Path], rel: str) -> Any:
    try:
        return yaml.safe_load(_content(files, rel)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{_origin(files, rel)}: not valid YAML: {exc}", hint="fix the file; `stackctl up` would fail on it too") from None


def dns_name(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].rstrip("-") or "rules"


def _rules(files: Mapping[str, bytes | Path]) -> list[RuleSet]:
    out: list[RuleSet] = []
    taken: set[str] = set()
    for rel in sorted(r for r in files if r.startswith("prometheus/rules/")):
        doc = _yaml(files, rel)
        origin = _origin(files, rel)
        if not isinstance(doc, dict) or not isinstance(doc.get("groups", []), list):
            raise ConfigError(f"rule file {origin}: expected a mapping with a 'groups' list", hint="run `stackctl up` or promtool check rules on it first")
        if not doc.get("groups"):
            continue
        key, n = dns_name(Path(rel).stem), 2
        while key in taken:
            key, n = f"{dns_name(Path(rel).stem)[:60]}-{n}", n + 1
        taken.add(key)
        out.append(RuleSet(key, origin, [_crd_group(g, origin) for g in doc["groups"]]))
    return out


def _scalar(value: Any) -> str:
    """A YAML scalar as Prometheus reads it into a string field (``true``, not ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _crd_group(group: Any, origin: str) -> dict[str, Any]:
    """The group as the PrometheusRule CRD types it: labels, annotations and durations are strings.

    Prometheus reads ``severity: 1`` or ``for: 0`` into strings itself; the CRD's schema rejects the
    number, so the export writes the string Prometheus would have read.
    """
    if not isinstance(group, dict) or not isinstance(group.get("rules", []), list):
        raise ConfigError(f"rule file {origin}: a group is not a mapping with a 'rules' list")
    out = {k: (_scalar(v) if k in ("interval", "query_offset") else v) for k, v in group.items()}
    if isinstance(group.get("labels"), dict):
        out["labels"] = {str(k): _scalar(v) for k, v in group["labels"].items()}
    rules = []
    for rule in group.get("rules") or []:
        if not isinstance(rule, dict):
            raise ConfigError(f"rule file {origin}: group {group.get('name')!r} holds a rule that is not a mapping")
        fixed = {k: (_scalar(v) if k in ("for", "keep_firing_for") else v) for k, v in rule.items()}
        for key in ("labels", "annotations"):
            if isinstance(rule.get(key), dict):
                fixed[key] = {str(k): _scalar(v) for k, v in rule[key].items()}
        rules.append(fixed)
    out["rules"] = rules
    return out


def _scrape(cfg: Config) -> list[dict[str, Any]]:
    jobs = []
    for target in cfg.scrape:
        job = scrape_config(target, NEUTRAL)
        # the renderer points localhost at the machine running the stack; a cluster has no such host
        job["static_configs"][0]["targets"] = [target.target]
        jobs.append(job)
    if "{{" in yaml.safe_dump(jobs):
        raise ConfigError("a scrape target's labels contain '{{', which Helm would evaluate (additionalScrapeConfigs goes through tpl)",
                          hint="remove the braces from the label values in stackctl.yaml `scrape:`")
    return jobs


def _sink_url(url: Any) -> bool:
    sink = SERVICES["notify-sink"]
    return isinstance(url, str) and f"//{sink.name}:{sink.container_port}" in url


def _drop_sink(doc: dict[str, Any]) -> list[str]:
    """Remove the webhooks to the local notification sink; the receivers stay (routes name them)."""
    emptied = []
    for receiver in doc.get("receivers") or []:
        hooks = receiver.get("webhook_configs")
        if not hooks:
            continue
        kept = [h for h in hooks if not _sink_url(h.get("url"))]
        if len(kept) != len(hooks):
            if kept:
                receiver["webhook_configs"] = kept
            else:
                receiver.pop("webhook_configs")
            if not any(k.endswith("_configs") for k in receiver):
                emptied.append(str(receiver.get("name")))
    return emptied


def _alertmanager(doc: dict[str, Any], export: KubernetesExport) -> dict[str, Any]:
    emptied = _drop_sink(doc)
    if emptied:
        export.notes.append(f"receiver(s) {', '.join(emptied)} sent only to the local notification sink: in the cluster they notify "
                            "no one until you add an integration (alertmanager.config.receivers in values.yaml)")
    env_sources = {secret_file(name): var for name, var in SECRET_ENV.items()}
    return externalize(doc, export.secret, env_sources)


def _uid_mapping(files: Mapping[str, bytes | Path]) -> dict[str, str]:
    """Local datasource uid -> the chart's, matched by datasource type."""
    chart_by_type = {"prometheus": chart.CHART_DATASOURCE_UIDS["prometheus"],
                     "alertmanager": chart.CHART_DATASOURCE_UIDS["alertmanager"], "loki": chart.LOKI_UID}
    mapping: dict[str, str] = {}
    for rel in sorted(r for r in files if r.startswith("grafana/provisioning/datasources/")):
        for source in (_yaml(files, rel).get("datasources") or []):
            if source.get("uid") and source.get("type") in chart_by_type:
                mapping[str(source["uid"])] = chart_by_type[source["type"]]
    return mapping


def _folders(files: Mapping[str, bytes | Path]) -> dict[str, str]:
    """Rendered dashboard directory -> the Grafana folder its provider loads it into."""
    rel = "grafana/provisioning/dashboards/packs.yml"
    if rel not in files:
        return {}
    return {Path(p["options"]["path"]).name: str(p.get("folder") or "General") for p in _yaml(files, rel).get("providers") or []}


def _dashboards(files: Mapping[str, bytes | Path], mapping: Mapping[str, str]) -> list[tuple[str, ExportedDashboard]]:
    folders = _folders(files)
    out: list[tuple[str, ExportedDashboard]] = []
    seen: dict[str, str] = {}
    taken: set[str] = set()
    for rel in sorted(r for r in files if r.startswith("grafana/dashboards/") and r.endswith(".json")):
        directory = rel.split("/")[2]
        dash = export_dashboard(rel, _content(files, rel), folders.get(directory, directory), mapping)
        if dash.key in seen:
            raise ConfigError(f"dashboards {seen[dash.key]} and {rel} both export as {dash.key}",
                              hint="Grafana needs every dashboard uid to be unique: change one of them")
        seen[dash.key] = rel
        out.append((configmap_name(dash, taken), dash))
    return out


def _values(export: KubernetesExport, prometheus_yml: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if export.rules:
        values["additionalPrometheusRulesMap"] = {r.key: {"groups": r.groups} for r in export.rules}
    spec: dict[str, Any] = {}
    if "--web.enable-remote-write-receiver" in load_definition()["prometheus"].command:
        spec["enableRemoteWriteReceiver"] = True
    window = ((prometheus_yml.get("storage") or {}).get("tsdb") or {}).get("out_of_order_time_window")
    if window:
        spec["tsdb"] = {"outOfOrderTimeWindow": str(window)}
    if export.scrape:
        spec["additionalScrapeConfigs"] = export.scrape
    values["prometheus"] = {"prometheusSpec": spec}
    alertmanager: dict[str, Any] = {"tplConfig": False, "config": chart.null_missing_defaults(export.alertmanager)}
    if export.secret.keys:
        alertmanager["alertmanagerSpec"] = {"secrets": [export.secret.name]}
    values["alertmanager"] = alertmanager
    grafana: dict[str, Any] = {"sidecar": {
        "dashboards": {"enabled": True, "label": chart.DASHBOARD_LABEL, "labelValue": chart.DASHBOARD_LABEL_VALUE,
                       "folderAnnotation": chart.FOLDER_ANNOTATION, "provider": {"foldersFromFilesStructure": True}},
        "datasources": {"uid": chart.CHART_DATASOURCE_UIDS["prometheus"], "alertmanager": {"uid": chart.CHART_DATASOURCE_UIDS["alertmanager"]}},
    }}
    if export.options.loki_url:
        grafana["additionalDataSources"] = [{"name": "Loki", "type": "loki", "uid": chart.LOKI_UID, "access": "proxy",
                                             "url": export.options.loki_url, "jsonData": {"maxLines": 1000}}]
    values["grafana"] = grafana
    return values


def prometheus_rule(rules: RuleSet, options: ExportOptions) -> dict[str, Any]:
    """The CRD form: labelled ``release: <release>`` so the chart's ruleSelector picks it up."""
    return {
        "apiVersion": chart.RULE_API_VERSION,
        "kind": chart.RULE_KIND,
        "metadata": {"name": f"stackctl-{rules.key}"[:63].rstrip("-"), "namespace": options.namespace,
                     "labels": {chart.RELEASE_LABEL: options.release, "app.kubernetes.io/managed-by": "stackctl"}},
        "spec": {"groups": rules.groups},
    }


def render_files(export: KubernetesExport) -> dict[str, bytes]:
    """Every file of the export directory, relative to it."""
    opts = export.options
    files: dict[str, bytes] = {"values.yaml": dump(export.values, values_header(export)), "README.md": readme(export).encode()}
    header = comment([f"Generated by `stackctl export kubernetes` for {chart.CHART} {chart.CHART_VERSION}; see README.md."])
    for rules in export.rules:
        files[f"prometheusrules/{rules.key}.yaml"] = dump(prometheus_rule(rules, opts), header)
    for name, dash in export.dashboards:
        files[f"dashboards/{name}.yaml"] = dump(configmap(dash, name, opts.namespace), header)
    return files


def export_kubernetes(cfg: Config, options: ExportOptions, out_dir: Path) -> tuple[KubernetesExport, list[Path]]:
    """Build the export and write it into ``out_dir`` (see export.output for what may be replaced)."""
    from stackctl.export.output import write_tree

    export = build_export(cfg, options)
    return export, write_tree(out_dir, render_files(export))
