"""User dashboards: validated as JSON, and "export for sharing" files made provisionable.

Grafana's "Export for sharing externally" writes ``__inputs`` and ``${DS_PROMETHEUS}``
placeholders that provisioning does not resolve ("Datasource ${DS_PROMETHEUS} was not found").
We map each datasource input to the provisioned datasource of the same type, by fixed UID.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stackctl.errors import ConfigError
from stackctl.yamlfile import read_text_file

# The largest public dashboards (node-exporter-full) are ~0.5 MB; past this it is not a dashboard.
MAX_DASHBOARD_BYTES = 16 * 1024 * 1024

DATASOURCE_UIDS = {"prometheus": "prometheus", "loki": "loki", "alertmanager": "alertmanager"}


def load_dashboard(path: Path) -> dict[str, Any]:
    text = read_text_file(path, ConfigError, limit=MAX_DASHBOARD_BYTES, what="dashboard JSON file")
    try:
        data = json.loads(text)
    except RecursionError:
        raise ConfigError(f"{path}: dashboard JSON is nested too deeply to read",
                          hint="a Grafana dashboard is a few levels deep; is this the right file?") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}:{exc.lineno}:{exc.colno}: dashboard is not valid JSON: {exc.msg}",
            hint="export it again from Grafana (Share > Export > Save to file) or fix the JSON",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("panels", []), list):
        raise ConfigError(f"{path}: not a Grafana dashboard (expected a JSON object with a 'panels' list)")
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
    """Map ``${DS_X}`` datasource inputs to provisioned UIDs; drop ``__inputs``."""
    inputs = data.get("__inputs") or []
    mapping: dict[str, str] = {}
    for item in inputs:
        if item.get("type") != "datasource":
            continue
        plugin = str(item.get("pluginId", ""))
        uid = DATASOURCE_UIDS.get(plugin)
        if uid is None:
            raise ConfigError(
                f"{source}: input {item.get('name')} needs a {plugin!r} datasource, which the stack does not provide",
                hint=f"the stack provisions: {', '.join(DATASOURCE_UIDS)}",
            )
        mapping["${" + str(item["name"]) + "}"] = uid
    out = _replace({k: v for k, v in data.items() if k != "__inputs"}, mapping)
    out.pop("id", None)  # provisioning assigns ids; a fixed one collides across folders
    return out


def prepare_user_dashboard(path: Path) -> bytes:
    data = resolve_inputs(load_dashboard(path), str(path))
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
