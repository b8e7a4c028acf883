"""Grafana provisioning files checked against their documented format before Grafana reads them.

Grafana reads ``provisioning/datasources/*.yaml`` and ``provisioning/dashboards/*.yaml`` at
start; a file in the wrong shape makes it fail to start ("Datasource provisioning error") or,
worse, load half of it silently (Go's YAML decoder drops unknown keys, so ``isdefault`` or
``folderUID`` are just ignored). The formats, from Grafana's "Provision Grafana" docs:

* datasources: ``apiVersion: 1``, ``datasources`` (name, type, access proxy|direct, uid <= 40
  of ``[A-Za-z0-9_-]``, orgId, url, jsonData/secureJsonData maps, at most one isDefault per
  org, unique names and uids), ``deleteDatasources`` (name + orgId), ``prune``;
* dashboard providers: ``apiVersion: 1``, ``providers`` (unique name, type ``file``, folder,
  folderUid, options.path that exists, ``foldersFromFilesStructure`` without folder/folderUid).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from stackctl.errors import ConfigError
from stackctl.yamlfile import LocatedYaml, parse_yaml

_UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
DATASOURCE_KEYS = {"name", "type", "typeLogoUrl", "access", "uid", "orgId", "url", "user", "database", "basicAuth",
                   "basicAuthUser", "withCredentials", "isDefault", "jsonData", "secureJsonData", "version", "editable",
                   "password", "basicAuthPassword"}
PROVIDER_KEYS = {"name", "orgId", "folder", "folderUid", "type", "disableDeletion", "editable", "updateIntervalSeconds",
                 "allowUiUpdates", "options"}
PROVIDER_OPTION_KEYS = {"path", "foldersFromFilesStructure"}


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    datasource_docs: list[Any] = field(default_factory=list)
    folder_uids: dict[str, str] = field(default_factory=dict)  # folderUid -> where it is set
    provider_dirs: list[str] = field(default_factory=list)  # rendered-relative folders the providers load


@dataclass
class _File:
    doc: LocatedYaml
    out: Findings

    def at(self, path: tuple[Any, ...]) -> str:
        line = self.doc.line_of(path)
        return f"{self.doc.source}:{line}" if line else self.doc.source

    def error(self, path: tuple[Any, ...], message: str) -> None:
        self.out.errors.append(f"{self.at(path)}: {_dotted(path)}: {message}")

    def warning(self, path: tuple[Any, ...], message: str) -> None:
        self.out.warnings.append(f"{self.at(path)}: {_dotted(path)}: {message}")


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[") or "(top level)"


def check_provisioning(files: dict[str, bytes | Path], container_dir: Callable[[str], str | None],
                       origins: Mapping[str, Path] | None = None) -> Findings:
    """Check every provisioning file of the rendered ``files``.

    ``container_dir`` maps a provider's ``options.path`` to the rendered folder it names
    (``grafana/dashboards/preview``), or None when it is outside the rendered tree.
    """
    out = Findings()
    for rel, content in sorted(files.items()):
        if not rel.startswith("grafana/provisioning/") or Path(rel).suffix not in (".yml", ".yaml"):
            continue
        origin = content if isinstance(content, Path) else (origins or {}).get(rel)
        source = str(origin) if origin else f"{rel} (rendered by stackctl)"
        text = content.read_text(encoding="utf-8") if isinstance(content, Path) else content.decode()
        try:
            doc = parse_yaml(text, source)
        except ConfigError as exc:
            out.errors.append(exc.message)
            continue
        kind = rel.split("/")[2]
        if kind == "datasources":
            _datasources(_File(doc, out))
        elif kind == "dashboards":
            _providers(_File(doc, out), files, container_dir)
    return out


def _top(f: _File, list_key: str) -> list[Any]:
    data = f.doc.data
    if data is None:
        return []
    if not isinstance(data, dict):
        f.error((), f"expected a mapping with apiVersion and {list_key}, found {type(data).__name__}")
        return []
    version = data.get("apiVersion")
    if version is None:
        f.warning(("apiVersion",), "no apiVersion: Grafana reads the file in the old v0 format; add `apiVersion: 1`")
    elif version not in (0, 1):
        f.error(("apiVersion",), f"apiVersion {version!r} is not one Grafana knows (1)")
    items = data.get(list_key, [])
    if items is None:
        return []
    if not isinstance(items, list):
        f.error((list_key,), f"{list_key} must be a list, found {type(items).__name__}")
        return []
    return items


def _unknown_keys(f: _File, entry: dict[str, Any], path: tuple[Any, ...], known: set[str]) -> None:
    for key in entry:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            f.warning(path + (key,), f"unknown key {key!r}{f' (did you mean {close[0]!r}?)' if close else ''}: Grafana ignores it")


def _datasources(f: _File) -> None:
    f.out.datasource_docs.append(f.doc.data)
    names: set[tuple[Any, str]] = set()
    uids: set[str] = set()
    defaults: dict[Any, str] = {}
    for i, entry in enumerate(_top(f, "datasources")):
        path: tuple[Any, ...] = ("datasources", i)
        if not isinstance(entry, dict):
            f.error(path, "a datasource is a mapping (name, type, url, ...)")
            continue
        _unknown_keys(f, entry, path, DATASOURCE_KEYS)
        org = entry.get("orgId", 1)
        name, ds_type = entry.get("name"), entry.get("type")
        if not isinstance(name, str) or not name:
            f.error(path + ("name",), "a datasource needs a name")
        elif (org, name) in names:
            f.error(path + ("name",), f"datasource name {name!r} is provisioned twice in org {org}")
        else:
            names.add((org, name))
        if not isinstance(ds_type, str) or not ds_type:
            f.error(path + ("type",), "a datasource needs a type (prometheus, loki, ...)")
        uid = entry.get("uid")
        if uid is not None:
            if not isinstance(uid, str) or not _UID_RE.match(uid):
                f.error(path + ("uid",), f"uid {uid!r} must be 1..40 characters of letters, digits, '-' and '_'")
            elif uid in uids:
                f.error(path + ("uid",), f"uid {uid!r} is provisioned twice")
            else:
                uids.add(uid)
        else:
            f.warning(path, "no uid: Grafana generates one, and dashboards cannot refer to this datasource by a fixed uid")
        access = entry.get("access")
        if access is not None and access not in ("proxy", "direct"):
            f.error(path + ("access",), f"access {access!r} must be proxy or direct")
        for key in ("jsonData", "secureJsonData"):
            if key in entry and not isinstance(entry[key], dict):
                f.error(path + (key,), f"{key} must be a mapping")
        if entry.get("isDefault") is True:
            if org in defaults:
                f.error(path + ("isDefault",), f"a second default datasource in org {org} ({defaults[org]} is one): Grafana refuses to start")
            defaults[org] = str(name)
    data = f.doc.data if isinstance(f.doc.data, dict) else {}
    for i, entry in enumerate(data.get("deleteDatasources") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            f.error(("deleteDatasources", i), "each entry needs a name (and orgId)")


def _providers(f: _File, files: dict[str, bytes | Path], container_dir: Callable[[str], str | None]) -> None:
    names: set[str] = set()
    for i, entry in enumerate(_top(f, "providers")):
        path: tuple[Any, ...] = ("providers", i)
        if not isinstance(entry, dict):
            f.error(path, "a provider is a mapping (name, type, options.path, ...)")
            continue
        _unknown_keys(f, entry, path, PROVIDER_KEYS)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            f.error(path + ("name",), "a provider needs a name")
        elif name in names:
            f.error(path + ("name",), f"provider name {name!r} is used twice: Grafana keeps one of them")
        else:
            names.add(name)
        ptype = entry.get("type", "file")
        if ptype != "file":
            f.error(path + ("type",), f"type {ptype!r}: Grafana's dashboard providers are of type file")
        _provider_folder(f, entry, path)
        _provider_options(f, entry, path, files, container_dir)


def _provider_folder(f: _File, entry: dict[str, Any], path: tuple[Any, ...]) -> None:
    folder_uid = entry.get("folderUid")
    if folder_uid is not None and folder_uid != "":  # '' is none (Grafana's own devenv/dashboards.yaml)
        if not isinstance(folder_uid, str) or not _UID_RE.match(folder_uid):
            f.error(path + ("folderUid",), f"folderUid {folder_uid!r} must be 1..40 characters of letters, digits, '-' and '_'")
        elif folder_uid in f.out.folder_uids:
            f.warning(path + ("folderUid",), f"folderUid {folder_uid!r} is also set at {f.out.folder_uids[folder_uid]}: both load into one folder")
        else:
            f.out.folder_uids[folder_uid] = f.at(path + ("folderUid",))
    interval = entry.get("updateIntervalSeconds")
    if interval is not None and (not isinstance(interval, int) or isinstance(interval, bool) or interval < 0):
        f.error(path + ("updateIntervalSeconds",), f"updateIntervalSeconds must be a whole number of seconds, found {interval!r}")
    for key in ("disableDeletion", "allowUiUpdates", "editable"):
        if key in entry and not isinstance(entry[key], bool):
            f.error(path + (key,), f"{key} must be true or false, found {entry[key]!r}")


def _provider_options(f: _File, entry: dict[str, Any], path: tuple[Any, ...], files: dict[str, bytes | Path],
                      container_dir: Callable[[str], str | None]) -> None:
    options = entry.get("options")
    if isinstance(options, dict):
        _unknown_keys(f, options, path + ("options",), PROVIDER_OPTION_KEYS)
    if not isinstance(options, dict) or not isinstance(options.get("path"), str) or not options["path"]:
        f.error(path + ("options",), "a file provider needs options.path: the folder of dashboard JSON files")
        return
    if options.get("foldersFromFilesStructure") and (entry.get("folder") or entry.get("folderUid")):
        f.error(path + ("options", "foldersFromFilesStructure"),
                "foldersFromFilesStructure names folders after directories: Grafana requires folder and folderUid to be empty with it")
    rel = container_dir(options["path"])
    if rel is None:
        f.warning(path + ("options", "path"), f"{options['path']} is not a folder stackctl renders: Grafana finds it only if it exists there")
        return
    f.out.provider_dirs.append(rel)
    if not any(k.startswith(rel.rstrip("/") + "/") and k.endswith(".json") for k in files):
        f.warning(path + ("options", "path"), f"{options['path']} holds no dashboard JSON file")
