"""A rule file as Prometheus loads it: a ``PrometheusRule`` resource (the prometheus-operator
CRD: ``kind: PrometheusRule``, the groups under ``spec.groups``) is unwrapped to its groups.

Rule collections are often published as such resources (kube-prometheus, the mixins' rendered
manifests); Prometheus and promtool read only the plain ``groups:`` form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def _is_prometheus_rule(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("kind") == "PrometheusRule" and isinstance(doc.get("spec"), dict)
            and isinstance(doc["spec"].get("groups"), list))


def unwrapped(path: Path) -> bytes | None:
    """The plain rule file for a file of PrometheusRule resources (several ``---`` documents
    merge), or None when the file is not one (it is loaded as it is)."""
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # promtool names the problem
    if not docs or not all(_is_prometheus_rule(d) for d in docs):
        return None
    groups = [g for d in docs for g in d["spec"]["groups"]]
    header = f"# Rendered by stackctl: the spec.groups of the PrometheusRule resource(s) in {path}\n"
    return (header + yaml.safe_dump({"groups": groups}, sort_keys=False, default_flow_style=False)).encode()
