"""Dashboards as the chart's Grafana sidecar loads them: one labelled ConfigMap per dashboard.

A dashboard is exported as the bytes the local stack provisions, with only its datasource uids
changed to the ones the chart's Grafana has. The change is made in the text (each datasource
reference is a flat JSON object, ``{"type": ..., "uid": ...}``), so nothing else moves; the
result is checked against the same change made on the parsed document, and if the two ever
disagree the parsed one is written instead (valid, but reformatted), never a wrong uid.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stackctl.errors import ConfigError
from stackctl.export.chart import (
    DASHBOARD_LABEL,
    DASHBOARD_LABEL_VALUE,
    FOLDER_ANNOTATION,
)

# uids Grafana resolves itself: built-in datasources, and dashboard variables ($ds, ${ds})
_BUILTIN = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana", "datasource"}
_DS_OBJECT = re.compile(r'("datasource"\s*:\s*)(\{[^{}]*\})')
_DS_STRING = re.compile(r'("datasource"\s*:\s*)"((?:[^"\\]|\\.)*)"')
_DS_UID_FIELD = re.compile(r'("datasourceUid"\s*:\s*)"((?:[^"\\]|\\.)*)"')
_UID_IN_OBJECT = re.compile(r'("uid"\s*:\s*)"((?:[^"\\]|\\.)*)"')
_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
# A ConfigMap holds at most 1 MiB; leave room for metadata.
MAX_CONFIGMAP_DATA = 1024 * 1024 - 4096


@dataclass(frozen=True)
class ExportedDashboard:
    rel: str  # the rendered path, grafana/dashboards/<folder dir>/<file>.json
    uid: str
    title: str
    folder: str  # the Grafana folder title
    key: str  # the ConfigMap data key, <uid>.json
    content: bytes  # the dashboard, datasource uids rewritten
    datasources: frozenset[str]  # every datasource uid it references after the rewrite
    reformatted: bool


def _is_variable(uid: str) -> bool:
    return uid.startswith("$") or uid in _BUILTIN


def referenced_uids(node: Any) -> Iterator[str]:
    """Every datasource uid a dashboard names (objects, legacy strings, ``datasourceUid``)."""
    if isinstance(node, list):
        for item in node:
            yield from referenced_uids(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict) and isinstance(value.get("uid"), str):
                yield value["uid"]
            elif key in ("datasource", "datasourceUid") and isinstance(value, str):
                yield value
            yield from referenced_uids(value)


def _map_tree(node: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(node, list):
        return [_map_tree(v, mapping) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "datasource" and isinstance(value, dict) and isinstance(value.get("uid"), str):
            value = {**value, "uid": mapping.get(value["uid"], value["uid"])}
        elif key in ("datasource", "datasourceUid") and isinstance(value, str):
            value = mapping.get(value, value)
        out[key] = _map_tree(value, mapping)
    return out


def _sub(pattern: re.Pattern[str], text: str, mapping: Mapping[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        old = json.loads(f'"{m.group(2)}"')
        if old not in mapping or _is_variable(old):
            return m.group(0)
        return f"{m.group(1)}{json.dumps(mapping[old])}"
    return pattern.sub(repl, text)


def rewrite_uids(raw: bytes, mapping: Mapping[str, str]) -> tuple[bytes, bool]:
    """``raw`` with each datasource uid in ``mapping`` replaced; True if it had to be reformatted."""
    live = {old: new for old, new in mapping.items() if old != new and not _is_variable(old)}
    if not live:
        return raw, False
    text = raw.decode("utf-8")
    text = _DS_OBJECT.sub(lambda m: m.group(1) + _sub(_UID_IN_OBJECT, m.group(2), live), text)
    text = _sub(_DS_STRING, text, live)
    text = _sub(_DS_UID_FIELD, text, live)
    expected = _map_tree(json.loads(raw), live)
    if json.loads(text) == expected:
        return text.encode("utf-8"), False
    return (json.dumps(expected, indent=2) + "\n").encode("utf-8"), True


def export_dashboard(rel: str, raw: bytes, folder: str, mapping: Mapping[str, str]) -> ExportedDashboard:
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"rendered dashboard {rel}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"rendered dashboard {rel}: not a JSON object")
    content, reformatted = rewrite_uids(raw, mapping)
    uid = str(doc.get("uid") or "")
    stem = rel.rsplit("/", 1)[-1].removesuffix(".json")
    key = f"{uid or stem}.json"
    if not _KEY_RE.fullmatch(key):
        raise ConfigError(f"dashboard {rel}: uid {uid!r} cannot name a ConfigMap key",
                          hint="Grafana uids are letters, digits, '-', '_' and '.'; give the dashboard such a uid")
    if len(content) > MAX_CONFIGMAP_DATA:
        raise ConfigError(f"dashboard {rel} is {len(content)} bytes: more than one ConfigMap holds (1 MiB)",
                          hint="split the dashboard, or load it with the Grafana subchart's dashboards values instead")
    used = frozenset(u for u in referenced_uids(json.loads(content)) if not _is_variable(u))
    return ExportedDashboard(rel, uid, str(doc.get("title") or stem), folder, key, content, used, reformatted)


def configmap_name(dash: ExportedDashboard, taken: set[str]) -> str:
    """``dashboard-<uid>`` as a DNS-1123 name; a short hash only when two would collide."""
    base = re.sub(r"[^a-z0-9-]+", "-", (dash.uid or dash.key.removesuffix(".json")).lower()).strip("-")
    name = f"dashboard-{base}"[:63].rstrip("-")
    if name in taken:
        digest = hashlib.sha256(dash.rel.encode()).hexdigest()[:8]
        name = f"{name[:54].rstrip('-')}-{digest}"
    taken.add(name)
    return name


def folder_value(title: str) -> str:
    """The annotation names a directory under the sidecar's folder: no '/' (it would nest)."""
    return title.replace("/", "-").strip() or "General"


def configmap(dash: ExportedDashboard, name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE, "app.kubernetes.io/managed-by": "stackctl"},
            "annotations": {FOLDER_ANNOTATION: folder_value(dash.folder)},
        },
        "data": {dash.key: dash.content.decode("utf-8")},
    }
