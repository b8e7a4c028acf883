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
from typing import Any, Mapping

from stackctl.dashboards.datasources import ADOPTED_TYPES
from stackctl.dashboards.refs import adoptable_type
from stackctl.dashboards.schema_v2 import is_v2, to_v1
from stackctl.errors import ConfigError
from stackctl.yamlfile import read_text_file

# The largest public dashboards (node-exporter-full) are ~0.5 MB; past this it is not a dashboard.
MAX_DASHBOARD_BYTES = 16 * 1024 * 1024

DATASOURCE_UIDS = ADOPTED_TYPES  # plugin type -> the uid the stack provisions it under


def read_json(path: Path) -> dict[str, Any]:
    """The dashboard file's JSON object; ConfigError naming line and column when it is not one."""
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
    raw_inputs = data.get("__inputs")
    inputs: list[Any] = raw_inputs if isinstance(raw_inputs, list) else []
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


def adopt_datasources(node: Any, known: Mapping[str, tuple[str, str]] | None = None) -> Any:
    """Point ``{"type": "prometheus", "uid": "<another Grafana's uid>"}`` references at the stack's own.

    Dashboards exported from a running Grafana (not "for sharing") carry that instance's
    datasource uids; here they would be "datasource not found" on every panel. References by
    variable or input (``$ds``, ``${DS_X}``) and of types the stack does not run stay as written.
    ``known``: the user's provisioned datasources (uid or name -> (type, uid), grafana.provisioning):
    a reference to one stays theirs, a name or bare uid becomes ``{"type", "uid"}`` as Grafana's
    dashboard migration writes it.
    """
    known = known or {}
    if isinstance(node, list):
        return [adopt_datasources(v, known) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: adopt_datasources(v, known) for k, v in node.items()}
    ref = out.get("datasource")
    key = ref if isinstance(ref, str) else ref.get("uid") if isinstance(ref, dict) else None
    if isinstance(key, str) and key in known:
        own_type, own_uid = known[key]
        if not isinstance(ref, dict) or ref.get("type") in (None, "", own_type):
            out["datasource"] = {"type": own_type, "uid": own_uid}
    elif (kind := adoptable_type(ref, out)) is not None:  # another Grafana's name (or bare uid) for its Prometheus/Loki
        out["datasource"] = {"type": kind, "uid": DATASOURCE_UIDS[kind]}
    elif isinstance(ref, dict):
        ds_type, uid = ref.get("type"), ref.get("uid")
        if isinstance(ds_type, str) and ds_type in DATASOURCE_UIDS and isinstance(uid, str) and uid and "$" not in uid \
                and uid != DATASOURCE_UIDS[ds_type]:
            out["datasource"] = {**ref, "uid": DATASOURCE_UIDS[ds_type]}
    return out


def prepare_user_dashboard(path: Path, known: Mapping[str, tuple[str, str]] | None = None) -> bytes:
    """The file as the stack's Grafana provisions it: inputs mapped; a Grafana 12 schema v2
    dashboard converted to the classic model, which file provisioning loads without feature
    toggles."""
    data = read_json(path)
    if is_v2(data):
        data = to_v1(data)
    data = adopt_datasources(resolve_inputs(data, str(path)), known)
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def user_folder(entry: Path) -> str:
    """The rendered folder of a `dashboards:` entry: a folder by its name, a single file by its stem."""
    return f"user-{entry.stem if entry.is_file() else entry.name}"


def dashboard_paths(entry: Path) -> list[Path]:
    """The dashboard files an entry names: the file itself, or every *.json file under a folder, sorted."""
    if not entry.is_dir():
        return [entry]
    return sorted(p for p in entry.rglob("*.json") if p.is_file())
