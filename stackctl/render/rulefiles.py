"""A rule file as Prometheus loads it, from the shapes rule collections are published in.

Prometheus and promtool read only the plain ``groups:`` form. Published rules often come
wrapped: as ``PrometheusRule`` resources (the prometheus-operator CRD, ``spec.groups``:
kube-prometheus, the mixins' rendered manifests), as rule files inside a ``ConfigMap``'s
``data`` (plain Kubernetes manifests), as ``kind: List`` of those, in multi-document manifests
beside other resources (a ServiceMonitor, a Deployment), or in Helm values
(kube-prometheus-stack's ``additionalPrometheusRulesMap``/``additionalPrometheusRules``, the
prometheus chart's ``serverFiles``). Each is unwrapped to its groups, so the same file works
in ``rules:``, in ``seed --from`` and in the export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class RuleGroups:
    groups: list[dict[str, Any]] = field(default_factory=list)
    wrappers: list[str] = field(default_factory=list)  # where they were found: "PrometheusRule x", "ConfigMap y: data.k"
    ignored: list[str] = field(default_factory=list)  # documents that hold no rules: "ServiceMonitor z"

    @property
    def plain(self) -> bool:
        """One plain ``groups:`` document: the file loads as it is."""
        return self.wrappers == ["groups"]


def _name(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata")
    return f"{doc.get('kind')} {meta.get('name')}" if isinstance(meta, dict) and meta.get("name") else str(doc.get("kind"))


def _groups(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, dict) and isinstance(value.get("groups"), list):
        return [g for g in value["groups"] if isinstance(g, dict)]
    return None


def _embedded(text: Any) -> list[dict[str, Any]] | None:
    """A rule file held as a string (a ConfigMap's data value)."""
    if not isinstance(text, str) or "groups" not in text:
        return None
    try:
        return _groups(yaml.safe_load(text))
    except yaml.YAMLError:
        return None


def _collect(doc: Any, found: RuleGroups) -> None:
    if not isinstance(doc, dict):
        return
    plain = _groups(doc)
    if plain is not None and "kind" not in doc:
        found.groups += plain
        found.wrappers.append("groups")
        return
    kind = doc.get("kind")
    if kind == "PrometheusRule" and isinstance(doc.get("spec"), dict) and _groups(doc["spec"]) is not None:
        found.groups += _groups(doc["spec"]) or []
        found.wrappers.append(_name(doc))
    elif kind == "List" and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            _collect(item, found)
    elif kind == "ConfigMap" and isinstance(doc.get("data"), dict):
        held = [(key, g) for key, text in doc["data"].items() if (g := _embedded(text)) is not None]
        for key, groups in held:
            found.groups += groups
            found.wrappers.append(f"{_name(doc)}: data.{key}")
        if not held:
            found.ignored.append(_name(doc))
    elif kind is not None:
        found.ignored.append(_name(doc))
    else:
        _helm_values(doc, found)


def _helm_values(doc: dict[str, Any], found: RuleGroups) -> None:
    before = len(found.wrappers)
    rules_map = doc.get("additionalPrometheusRulesMap")
    if isinstance(rules_map, dict):  # kube-prometheus-stack: {name: {groups: [...]}}
        for key, value in rules_map.items():
            if (groups := _groups(value)) is not None:
                found.groups += groups
                found.wrappers.append(f"additionalPrometheusRulesMap.{key}")
    rules_list = doc.get("additionalPrometheusRules")
    if isinstance(rules_list, list):  # its older form: [{name, groups}]
        for i, value in enumerate(rules_list):
            if (groups := _groups(value)) is not None:
                found.groups += groups
                found.wrappers.append(f"additionalPrometheusRules[{i}]")
    server_files = doc.get("serverFiles")
    if isinstance(server_files, dict):  # the prometheus chart: {"alerting_rules.yml": {groups: [...]}, ...}
        for key, value in server_files.items():
            if (groups := _groups(value)) is not None and groups:
                found.groups += groups
                found.wrappers.append(f"serverFiles.{key}")
    if len(found.wrappers) == before and doc:
        found.ignored.append("a document without rule groups")


def rule_groups(docs: list[Any]) -> RuleGroups:
    """The rule groups the documents of one file hold, whatever they are wrapped in."""
    found = RuleGroups()
    for doc in docs:
        if doc is not None:
            _collect(doc, found)
    return found


def unwrapped(path: Path) -> bytes | None:
    """The plain rule file for a file whose rules come wrapped (see the module docstring), or
    None when the file is a plain rule file or holds no rules (it is loaded as it is, and
    promtool names the problem)."""
    try:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    found = rule_groups(docs)
    if not found.wrappers or found.plain:
        return None
    header = f"# Rendered by stackctl: the rule groups of {', '.join(found.wrappers)} in {path}\n"
    if found.ignored:
        header += f"# (left out, no rules: {', '.join(found.ignored)})\n"
    return (header + yaml.safe_dump({"groups": found.groups}, sort_keys=False, default_flow_style=False)).encode()
