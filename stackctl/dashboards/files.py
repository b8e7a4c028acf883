"""User dashboards: validated as JSON, and "export for sharing" files made provisionable.

Grafana's "Export for sharing externally" writes ``__inputs`` and ``${DS_PROMETHEUS}``
placeholders that provisioning does not resolve ("Datasource ${DS_PROMETHEUS} was not found").
We map each datasource input to the provisioned datasource of the same type, by fixed UID, and
each constant input to its value. An input for a datasource the stack does not run (PostgreSQL,
Elasticsearch...) stays as written: Grafana then reports "datasource not found" on those panels
only, and the dashboard's other panels work (refusing the whole dashboard helps nobody).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stackctl.errors import ConfigError

DATASOURCE_UIDS = {"prometheus": "prometheus", "loki": "loki", "alertmanager": "alertmanager"}


def read_json(path: Path) -> dict[str, Any]:
    """The dashboard file's JSON object; ConfigError naming line and column when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"dashboard {path}: cannot read it ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}:{exc.lineno}:{exc.colno}: dashboard is not valid JSON: {exc.msg}",
            hint="export it again from Grafana (Share > Export > Save to file) or fix the JSON",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("panels", []), list) or not isinstance(data.get("rows", []), list):
        raise ConfigError(f"{path}: not a Grafana dashboard (expected a JSON object with a 'panels' or 'rows' list)")
    return data


def _replace(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _replace(v, mapping) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace(v, mapping) for v in node]
    if isinstance(node, str):
        for placeholder, uid in mapping.items():
            node = node.replace(placeholder, uid)
    return node


def resolve_inputs(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Map ``${DS_X}`` datasource inputs to provisioned UIDs and constants to their values; the
    inputs of datasources the stack lacks stay in ``__inputs`` (so readers know their type)."""
    inputs = data.get("__inputs") or []
    mapping: dict[str, str] = {}
    for item in inputs:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        if item.get("type") == "constant":
            mapping["${" + str(item["name"]) + "}"] = str(item.get("value") or "")
        elif item.get("type") == "datasource" and str(item.get("pluginId", "")) in DATASOURCE_UIDS:
            mapping["${" + str(item["name"]) + "}"] = DATASOURCE_UIDS[str(item["pluginId"])]
    out = _replace({k: v for k, v in data.items() if k != "__inputs"}, mapping)
    kept = [i for i in inputs if isinstance(i, dict) and "${" + str(i.get("name")) + "}" not in mapping]
    if kept:
        out["__inputs"] = kept
    out.pop("id", None)  # provisioning assigns ids; a fixed one collides across folders
    return out


def prepare_user_dashboard(path: Path) -> bytes:
    data = resolve_inputs(read_json(path), str(path))
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
