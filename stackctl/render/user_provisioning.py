"""The user's own Grafana provisioning folder (``grafana: {provisioning: ...}``), merged into the stack's.

A docker-compose setup mounts ``grafana/provisioning`` at ``/etc/grafana/provisioning``: its
``datasources/*.yml`` name the user's Prometheus/Loki with their own names and uids (which
their dashboards reference), its ``dashboards/*.yml`` providers load folders of dashboards.
Here (docs/grafana-provisioning.md):

* a datasource of a type the stack runs (prometheus, loki, alertmanager, when that service is
  enabled) keeps its name, uid, isDefault and jsonData but points at the stack's service; the
  stack's own entry of that uid is replaced by it, and the stack's entry of the same name is
  renamed "<name> (stackctl)";
* a datasource of any other type is provisioned as written (Grafana starts with a datasource it
  cannot reach and shows an error on that datasource's panels only), with a warning;
* ``deleteDatasources`` is kept (Grafana deletes, then provisions: harmless for the stack's own);
* each dashboard provider becomes a rendered folder ``grafana/dashboards/prov-<name>/`` with
  the provider's folder, folderUid and foldersFromFilesStructure; an ``options.path`` that is a
  container path (``/var/lib/grafana/dashboards``) is found again beside the user's files.

Problems Grafana would refuse (two defaults in an org, one uid or name twice, a provider without
a path, a folder not found) raise one ConfigError naming each file and line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from stackctl.config import Config
from stackctl.errors import ConfigError
from stackctl.render.provisioning_check import check_provisioning
from stackctl.services import with_internal
from stackctl.yamlfile import LocatedYaml, read_yaml

# Datasource plugin type -> the stack service that answers its queries.
STACK_SERVICE = {"prometheus": "prometheus", "loki": "loki", "alertmanager": "alertmanager"}
# Grafana's image mounts provisioning here (GF_PATHS_PROVISIONING): paths under it are the user's folder.
CONTAINER_PROVISIONING = "/etc/grafana/provisioning"
# Connection settings of their server, meaningless for the stack's (plain HTTP, no auth).
_AUTH_KEYS = ("basicAuth", "basicAuthUser", "basicAuthPassword", "user", "password", "withCredentials", "secureJsonData")
_AUTH_JSON = re.compile(r"^(tls|sigV4|oauth|azure|httpHeader)", re.IGNORECASE)
_HINT = ("fix the file at the line named (Grafana's format: grafana.com/docs/grafana/latest/administration/provisioning/); "
         "nothing was started")


@dataclass(frozen=True)
class UserFolder:
    """One provider of the user's: the host folder it loads and the provider as rendered."""

    name: str  # the rendered folder: grafana/dashboards/<name>/
    source: Path
    provider: dict[str, Any]
    nested: bool  # foldersFromFilesStructure: subfolders kept as Grafana folders

    def files(self) -> list[tuple[Path, str]]:
        """(dashboard file, path relative to the rendered folder)."""
        # Grafana's file provider walks the folder recursively; without foldersFromFilesStructure
        # every file lands in one folder, so two files of one name in subfolders are told apart.
        found = sorted(p for p in self.source.rglob("*.json") if p.is_file())
        names = [p.name for p in found]
        return [(p, p.relative_to(self.source).as_posix() if self.nested
                 else p.name if names.count(p.name) == 1 else p.relative_to(self.source).as_posix().replace("/", "-"))
                for p in found]


@dataclass
class UserProvisioning:
    datasources: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (entry, file:line)
    delete: list[dict[str, Any]] = field(default_factory=list)
    folders: list[UserFolder] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    as_written: list[str] = field(default_factory=list)  # datasources of types the stack does not run

    def known(self) -> dict[str, tuple[str, str]]:
        """uid or name -> (type, uid) of every user datasource with a uid (dashboards' references)."""
        out: dict[str, tuple[str, str]] = {}
        for entry, _ in self.datasources:
            if isinstance(entry.get("uid"), str):
                out[entry["uid"]] = out[entry["name"]] = (entry["type"], entry["uid"])
        return out


def user_provisioning(cfg: Config) -> UserProvisioning | None:
    """The user's grafana.provisioning, read and checked (None when there is none). Rendered
    with Grafana off too: verify, report and seeding read the rendered dashboards and datasources."""
    if cfg.grafana_provisioning is None:
        return None
    base = cfg.config_file.parent if cfg.config_file else Path.cwd()
    return read_user_provisioning(cfg.grafana_provisioning, with_internal(cfg.services), base)


def dashboard_sources(cfg: Config) -> list[Path]:
    """The host folders the user's providers load (what `seed` synthesizes from, like `dashboards:`);
    none while the provisioning is broken: `up` reports it."""
    try:
        user = user_provisioning(cfg)
    except ConfigError:
        return []
    return [f.source for f in user.folders] if user else []


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found: list[Path] = []
    for sub in (root, root / "datasources", root / "dashboards"):
        found += sorted(p for p in sub.glob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))
    return found


def _kind(doc: LocatedYaml) -> str | None:
    data = doc.data if isinstance(doc.data, dict) else {}
    if "providers" in data:
        return "dashboards"
    if "datasources" in data or "deleteDatasources" in data:
        return "datasources"
    return None


def read_user_provisioning(root: Path, services: Iterable[str], base: Path) -> UserProvisioning:
    """Read and check the provisioning folder (or file) ``root``; ``base`` is stackctl.yaml's folder."""
    if root.is_dir() and not any((root / sub).is_dir() for sub in ("datasources", "dashboards")) \
            and (root / "provisioning").is_dir():
        root = root / "provisioning"  # `grafana/` named instead of `grafana/provisioning/`
    docs: list[tuple[Path, LocatedYaml, str]] = []
    errors: list[str] = []
    for path in _files(root):
        try:
            doc = read_yaml(path, ConfigError)
        except ConfigError as exc:
            errors.append(exc.message)
            continue
        kind = _kind(doc)
        if kind is None:
            if doc.data is not None:  # an empty file Grafana skips too
                errors.append(f"{path}:1: neither a datasources nor a dashboards provisioning file "
                              "(no `datasources:`, `deleteDatasources:` or `providers:` list)")
            continue
        docs.append((path, doc, kind))
    if not docs and not errors:
        raise ConfigError(f"{root}: no Grafana provisioning file found (datasources/*.yml, dashboards/*.yml)",
                          hint="name the folder mounted at /etc/grafana/provisioning in your compose file, or one of its .yml files")
    # The documented per-file checks (apiVersion, keys, uid format, isDefault twice in one file, ...).
    found = check_provisioning({f"grafana/provisioning/{kind}/{i}-{p.name}": p for i, (p, _, kind) in enumerate(docs)},
                               lambda _path: "", {})
    errors += found.errors
    # Not here: "no uid" (their dashboards refer to those by name, as in their setup) and the
    # provider folder checks (rendered-tree paths; _providers checks their folders).
    out = UserProvisioning(warnings=[w for w in found.warnings if "holds no dashboard JSON" not in w and ": no uid:" not in w])
    enabled = set(services)
    _datasources([(p, d) for p, d, k in docs if k == "datasources"], enabled, out, errors)
    _providers([(p, d) for p, d, k in docs if k == "dashboards"], root, base, out, errors)
    if out.as_written:
        out.warnings.append(f"{len(out.as_written)} datasource(s) of types the stack does not run are provisioned as written: "
                            f"{', '.join(out.as_written)}; Grafana shows an error on their panels unless their servers are "
                            "reachable from it, and stackctl verify skips those panels")
    if errors:
        raise ConfigError(f"{len(errors)} problem(s) in grafana.provisioning ({root}):\n  " + "\n  ".join(errors), hint=_HINT)
    return out


def _at(path: Path, doc: LocatedYaml, key: tuple[Any, ...]) -> str:
    line = doc.line_of(key)
    return f"{path}:{line}" if line else str(path)


def _datasources(docs: list[tuple[Path, LocatedYaml]], enabled: set[str], out: UserProvisioning, errors: list[str]) -> None:
    # Across files only: check_provisioning reports the clashes within one file.
    uids: dict[str, tuple[Path, str]] = {}
    names: dict[str, tuple[Path, str]] = {}
    default: tuple[Path, str] | None = None
    for path, doc in docs:
        data = doc.data
        for entry in data.get("deleteDatasources") or []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                out.delete.append({"name": entry["name"], "orgId": 1})
        for i, entry in enumerate(data.get("datasources") or []):
            key: tuple[Any, ...] = ("datasources", i)
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not isinstance(entry.get("type"), str):
                continue  # check_provisioning reported it
            where = _at(path, doc, key)
            if entry.get("orgId", 1) not in (1, None):
                out.warnings.append(f"{where}: datasource {entry['name']!r} is in org {entry['orgId']}: the stack's Grafana has "
                                    "one organisation, it is provisioned in org 1")
            uid, name = entry.get("uid"), entry["name"]
            if isinstance(uid, str) and uid in uids and uids[uid][0] != path:
                errors.append(f"{_at(path, doc, key + ('uid',))}: datasource uid {uid!r} is also provisioned at {uids[uid][1]}: "
                              "Grafana keeps one of them")
            elif isinstance(uid, str):
                uids.setdefault(uid, (path, where))
            if name in names and names[name][0] != path:
                errors.append(f"{_at(path, doc, key + ('name',))}: datasource name {name!r} is also provisioned at {names[name][1]}")
            names.setdefault(name, (path, where))
            if entry.get("isDefault") is True:
                if default is not None and default[0] != path:
                    errors.append(f"{_at(path, doc, key + ('isDefault',))}: a second default datasource ({default[1]} is one): "
                                  "Grafana refuses to start with two defaults in an organisation")
                default = default or (path, f"{name!r} at {where}")
            out.datasources.append((_adapted(entry, enabled, where, out), where))


def _adapted(entry: dict[str, Any], enabled: set[str], where: str, out: UserProvisioning) -> dict[str, Any]:
    ds_type = entry["type"]
    if STACK_SERVICE.get(ds_type) not in enabled:
        out.as_written.append(f"{entry['name']!r} ({ds_type}, {where})")
        return {**{k: v for k, v in entry.items() if v is not None}, "orgId": 1}
    dropped = [k for k in _AUTH_KEYS if entry.get(k)] + [k for k in (entry.get("jsonData") or {}) if _AUTH_JSON.match(str(k))]
    if dropped:
        out.warnings.append(f"{where}: datasource {entry['name']!r} points at the stack's {ds_type}, which needs no "
                            f"credentials: {', '.join(dropped)} left out")
    adapted: dict[str, Any] = {"name": entry["name"], "type": ds_type, "access": "proxy", "orgId": 1}
    if entry.get("uid"):
        adapted["uid"] = entry["uid"]
    adapted["isDefault"] = entry.get("isDefault") is True
    if "editable" in entry:
        adapted["editable"] = entry["editable"]
    json_data = {k: v for k, v in (entry.get("jsonData") or {}).items() if not _AUTH_JSON.match(str(k))}
    if json_data:
        adapted["jsonData"] = json_data
    return adapted  # url and the stack's jsonData defaults: merge_datasources


def merge_datasources(stack: dict[str, Any], user: UserProvisioning) -> dict[str, Any]:
    """The stack's datasources document with the user's in it (see the module docstring)."""
    stack_list = [dict(d) for d in stack.get("datasources") or []]
    by_type = {d["type"]: d for d in stack_list}
    user_uids = {e.get("uid") for e, _ in user.datasources}
    user_names = {e["name"] for e, _ in user.datasources}
    errors: list[str] = []
    merged_user: list[dict[str, Any]] = []
    for entry, where in user.datasources:
        entry = dict(entry)
        own = by_type.get(entry["type"]) if "url" not in entry else None
        if own is not None:  # one of the stack's types: the stack's server and its defaults
            entry["url"] = own["url"]
            entry["jsonData"] = {**(own.get("jsonData") or {}), **(entry.get("jsonData") or {})}
            if "timeInterval" in (own.get("jsonData") or {}):  # the stack's scrape interval, for $__rate_interval
                entry["jsonData"]["timeInterval"] = own["jsonData"]["timeInterval"]
        for ours in stack_list:
            if ours.get("uid") == entry.get("uid") and ours["type"] != entry["type"]:
                errors.append(f"{where}: uid {entry['uid']!r} is the stack's {ours['type']} datasource's; a {entry['type']} "
                              "cannot take it (the stack's dashboards refer to it)")
        merged_user.append(entry)
    if errors:
        raise ConfigError("grafana.provisioning:\n  " + "\n  ".join(errors), hint="give that datasource another uid")
    user_default = any(e.get("isDefault") for e in merged_user)
    kept: list[dict[str, Any]] = []
    for ours in stack_list:
        if ours.get("uid") in user_uids:
            continue  # the user's entry of that uid (same type) replaces it
        if ours["name"] in user_names:
            ours["name"] = f"{ours['name']} (stackctl)"
        if user_default:
            ours["isDefault"] = False
        kept.append(ours)
    doc = {**stack, "datasources": kept + merged_user}
    if user.delete:
        doc["deleteDatasources"] = list(user.delete)
    return doc


def _providers(docs: list[tuple[Path, LocatedYaml]], root: Path, base: Path, out: UserProvisioning, errors: list[str]) -> None:
    used: dict[str, str] = {}
    for path, doc in docs:
        for i, entry in enumerate(doc.data.get("providers") or []):
            key: tuple[Any, ...] = ("providers", i)
            options = entry.get("options") if isinstance(entry, dict) else None
            if not isinstance(options, dict) or not isinstance(options.get("path"), str) or not options["path"]:
                continue  # check_provisioning reported it
            where = _at(path, doc, key + ("options", "path"))
            source = _folder(options["path"], path, root, base, where, out)
            if source is None:
                errors.append(f"{where}: options.path {options['path']!r} is not a folder here, nor found beside {path.parent} "
                              f"(tried {_candidates_text(options['path'], path, root, base)})")
                continue
            name = "prov-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", str(entry.get("name") or path.stem)).strip("-")
            if name in used:
                name += "-" + hashlib.sha1(f"{path}:{i}".encode()).hexdigest()[:6]
            used[name] = where
            provider = {k: v for k, v in entry.items() if k != "options" and v is not None and v != ""}
            provider.update({"orgId": 1, "type": "file"})
            nested = bool(options.get("foldersFromFilesStructure"))
            provider["options"] = {"path": f"/var/lib/grafana/dashboards/{name}", **({"foldersFromFilesStructure": True} if nested else {})}
            folder = UserFolder(name, source, provider, nested)
            if not folder.files():
                out.warnings.append(f"{where}: {source} holds no dashboard JSON file")
            out.folders.append(folder)


def _candidates(container: str, file: Path, root: Path, base: Path) -> list[Path]:
    """Where a container path's folder lives beside the user's files: the compose file mounts
    ``./grafana/dashboards`` at ``/var/lib/grafana/dashboards`` (or the provisioning folder itself)."""
    prov_root = root if root.is_dir() else file.parent.parent
    out: list[Path] = []
    if container.rstrip("/") == CONTAINER_PROVISIONING or container.startswith(CONTAINER_PROVISIONING + "/"):
        out.append(prov_root / container[len(CONTAINER_PROVISIONING):].lstrip("/"))
    parts = [p for p in Path(container).parts if p not in ("/", "")]
    bases = list(dict.fromkeys([file.parent, prov_root, prov_root.parent, prov_root.parent.parent, base]))
    for k in range(len(parts), 0, -1):  # the longest tail first: grafana/dashboards before dashboards
        out += [b / Path(*parts[-k:]) for b in bases]
    return list(dict.fromkeys(out))


def _candidates_text(container: str, file: Path, root: Path, base: Path) -> str:
    shown = [str(c) for c in _candidates(container, file, root, base)[:4]]
    return ", ".join(shown) + ("; copy the folder beside your provisioning folder, or give its host path" if shown else "")


def _folder(written: str, file: Path, root: Path, base: Path, where: str, out: UserProvisioning) -> Path | None:
    direct = Path(written).expanduser()
    for candidate in ([direct] if direct.is_absolute() else [file.parent / direct, base / direct]):
        if candidate.is_dir() and (not direct.is_absolute() or _has_json(candidate)):
            return candidate.resolve()
    for candidate in _candidates(written, file, root, base):
        if candidate.is_dir() and _has_json(candidate):
            out.warnings.append(f"{where}: options.path {written} is a path inside the Grafana container; "
                                f"loading the folder found beside your files: {candidate.resolve()}")
            return candidate.resolve()
    return None


def _has_json(folder: Path) -> bool:
    return any(p.is_file() for p in folder.rglob("*.json"))
