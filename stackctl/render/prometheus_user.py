"""The user's own prometheus.yml (``prometheus.config``) merged into the stack's Prometheus config.

What is kept, what wins, and why (docs/prometheus-config.md has the user-facing table):

* ``scrape_configs`` (and the inlined ``scrape_config_files``) are scraped as written: relabel
  and metric_relabel configs, scheme, auth, params, honor_labels, per-job intervals. Relative
  paths (``*_file``, ``file_sd_configs.files``) are resolved against the user's file, as
  Prometheus does; on the docker runtime the files are copied into the rendered tree (the
  container cannot see the host's disk) and a last relabel step sends ``localhost`` /
  ``127.0.0.1`` targets to the host, as ``scrape:`` targets are, keeping their ``instance``.
* Service discovery that needs a cluster or a cloud API is left out with a warning naming the
  job; a job left with no way to find a target is left out entirely.
* ``global``: the user's scrape_interval, scrape_timeout, external_labels (theirs win on a clash)
  and limits; evaluation_interval stays the stack's 1s (seeded alerts fire in seconds).
* ``alerting`` is the stack's Alertmanager, ``remote_write``/``remote_read``/``tracing`` are
  dropped (nothing leaves the machine), ``storage`` keeps the stack's out-of-order window.
* A job named like one of the stack's own: when it scrapes that same service (the usual
  ``prometheus`` job on localhost:9090) it is left out, the stack's job covers it; otherwise it
  is renamed ``user-<name>``. A clash with a ``scrape:`` entry of stackctl.yaml is an error.
"""

from __future__ import annotations

import copy
import glob
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackctl.config import Config
from stackctl.errors import ConfigError
from stackctl.promfile import UserJob, UserPrometheus, read_user_prometheus, resolve_path
from stackctl.services import SERVICES

# Discovery a laptop can serve: static lists and files; an HTTP endpoint, DNS, a local Consul
# agent (its default server is localhost:8500) and the local Docker daemon may all be on this
# machine. Every other *_sd_configs (kubernetes, ec2, gce, azure, openstack, digitalocean,
# hetzner, linode, scaleway, eureka, marathon, nomad, dockerswarm, ...) asks a cluster or a
# cloud API for targets that are not reachable from here, so it is left out with a warning.
LOCAL_SD = ("static_configs", "file_sd_configs", "http_sd_configs", "dns_sd_configs", "consul_sd_configs", "docker_sd_configs")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_LOCAL_RE = r"(localhost|127\.0\.0\.1|\[::1\])"
CONTAINER_DIR = "/etc/prometheus"
FILES_DIR = "user-files"
USER_PREFIX = "user-"


@dataclass
class Merged:
    jobs: list[dict[str, Any]] = field(default_factory=list)
    origins: list[UserJob] = field(default_factory=list)  # aligned with jobs
    files: dict[str, Path] = field(default_factory=dict)  # rendered path -> the user's file it copies
    notices: list[str] = field(default_factory=list)
    user: UserPrometheus | None = None


def merge_user_prometheus(cfg: Config, runtime: str, doc: dict[str, Any]) -> Merged:
    """Add the user's configuration to the stack's ``doc`` (changed in place)."""
    merged = Merged()
    if cfg.prometheus_config is None:
        return merged
    user = merged.user = read_user_prometheus(cfg.prometheus_config)
    merged.notices += user.notes
    _sections(user, doc, merged)
    stack_jobs = [str(j.get("job_name")) for j in doc.get("scrape_configs") or []]
    scrape_jobs = {t.job or f"app-{t.target.replace(':', '-')}": i for i, t in enumerate(cfg.scrape)}
    taken = set(stack_jobs) | set(scrape_jobs) | {j.name for j in user.jobs}
    for job in user.jobs:
        if job.name in scrape_jobs:
            raise ConfigError(f"{job.where('job_name')}: job_name {job.name!r} is also the job of scrape[{scrape_jobs[job.name]}] "
                              f"in {cfg.config_file or 'stackctl.yaml'}",
                              hint="Prometheus refuses two scrape configs of one job name: keep the job in one of the files")
        rendered = _job(job, runtime, merged)
        if rendered is None:
            continue
        if job.name in stack_jobs:
            if _same_service(job.name, rendered):
                merged.notices.append(f"{job.where('job_name')}: job {job.name!r} scrapes the stack's own {job.name}: "
                                      "left out, stackctl's job of that name covers it")
                continue
            new = _free_name(USER_PREFIX + job.name, taken)
            taken.add(new)
            rendered["job_name"] = new
            merged.notices.append(f"{job.where('job_name')}: job {job.name!r} is also one of stackctl's own jobs: "
                                  f"scraped as job {new!r}")
        merged.jobs.append(rendered)
        merged.origins.append(job)
    doc.setdefault("scrape_configs", []).extend(merged.jobs)
    return merged


def _free_name(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}-{n}", n + 1
    return out


def _sections(user: UserPrometheus, doc: dict[str, Any], merged: Merged) -> None:
    data = user.data
    theirs = dict(data.get("global") or {})
    ours = doc.setdefault("global", {})
    if "evaluation_interval" in theirs and theirs["evaluation_interval"] != ours.get("evaluation_interval"):
        merged.notices.append(f"{user.where('global', 'evaluation_interval')}: global.evaluation_interval "
                              f"{theirs['evaluation_interval']} -> {ours.get('evaluation_interval')}: the stack evaluates "
                              "rules every second so seeded alerts fire quickly (a rule group's own `interval:` is kept)")
    theirs.pop("evaluation_interval", None)
    if theirs.pop("query_log_file", None) is not None:
        merged.notices.append(f"{user.where('global', 'query_log_file')}: global.query_log_file: not written by the stack's Prometheus")
    their_labels = theirs.pop("external_labels", None) or {}
    labels = {**(ours.get("external_labels") or {}), **their_labels} if isinstance(their_labels, dict) else their_labels
    ours.update(theirs)
    if labels:
        ours["external_labels"] = labels  # not a mapping: promtool names their line
    for key, why in (("alerting", "alerts go to the stack's Alertmanager"),
                     ("remote_write", "nothing leaves the machine"), ("remote_read", "nothing leaves the machine"),
                     ("tracing", "nothing leaves the machine")):
        if data.get(key):
            merged.notices.append(f"{user.where(key)}: {key}: dropped, {why}")
    storage = data.get("storage") or {}
    if storage:
        tsdb = storage.get("tsdb")
        theirs_tsdb: dict[str, Any] = tsdb if isinstance(tsdb, dict) else {}
        doc["storage"] = {**storage, "tsdb": {**theirs_tsdb, **(doc.get("storage", {}).get("tsdb") or {})}}
    for key in ("runtime", "otlp"):
        if data.get(key):
            doc[key] = copy.deepcopy(data[key])


def _job(job: UserJob, runtime: str, merged: Merged) -> dict[str, Any] | None:
    out = copy.deepcopy(job.config)
    sd_keys = [k for k in out if k == "static_configs" or str(k).endswith("_sd_configs")]
    dropped = {key: reason for key in sd_keys if (reason := _unusable(key, out[key], runtime))}
    if sd_keys and len(dropped) == len(sd_keys):
        merged.notices.append(f"{job.where('job_name')}: job {job.name!r} left out: "
                              + "; ".join(f"{key}: {reason}" for key, reason in dropped.items()))
        return None
    for key, reason in dropped.items():
        del out[key]
        merged.notices.append(f"{job.where(key)}: job {job.name!r}: {key} left out ({reason})")
    _resolve_files(out, job, runtime, merged)
    if runtime == "docker":
        _to_host(out)
    return out


def _unusable(key: str, value: Any, runtime: str) -> str | None:
    if key not in LOCAL_SD:
        return "it asks a cluster or cloud API for targets, which a laptop stack cannot reach"
    if key == "docker_sd_configs" and runtime == "docker" and isinstance(value, list) and any(
            isinstance(c, dict) and str(c.get("host", "")).startswith("unix:") for c in value):
        return "the stack's Prometheus container has no Docker socket; the native runtime can use it"
    return None


def _resolve_files(node: Any, job: UserJob, runtime: str, merged: Merged) -> None:
    """``*_file`` values and file_sd ``files`` globs, absolute (native) or copied in (docker)."""
    if isinstance(node, list):
        for item in node:
            _resolve_files(item, job, runtime, merged)
        return
    if not isinstance(node, dict):
        return
    for key, value in list(node.items()):
        if isinstance(key, str) and key.endswith("_file") and isinstance(value, str) and value:
            node[key] = _placed(_located(job, value, merged), runtime, merged)
        elif key == "file_sd_configs" and isinstance(value, list):
            for sd in value:
                if isinstance(sd, dict) and isinstance(sd.get("files"), list):
                    sd["files"] = [_placed_glob(_located(job, f, merged), runtime, merged) if isinstance(f, str) else f
                                   for f in sd["files"]]
        else:
            _resolve_files(value, job, runtime, merged)


def _located(job: UserJob, value: str, merged: Merged) -> str:
    path, note = resolve_path(Path(job.doc.source), value)
    if note:
        merged.notices.append(f"{job.where()}: job {job.name!r}: {note}")
    return path


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _placed(path: str, runtime: str, merged: Merged) -> str:
    if runtime != "docker" or not Path(path).is_file():
        return path  # a missing file: promtool names it, as the user wrote it
    rel = f"{FILES_DIR}/{_digest(path)}-{Path(path).name}"
    merged.files[f"prometheus/{rel}"] = Path(path)
    return f"{CONTAINER_DIR}/{rel}"


def _placed_glob(pattern: str, runtime: str, merged: Merged) -> str:
    if runtime != "docker":
        return pattern
    if not glob.has_magic(pattern):
        return _placed(pattern, runtime, merged)
    folder = f"{FILES_DIR}/{_digest(pattern)}"
    suffix = Path(pattern).suffix if Path(pattern).suffix in (".json", ".yml", ".yaml") else ""
    for i, found in enumerate(sorted(glob.glob(pattern))):
        if Path(found).is_file():
            merged.files[f"prometheus/{folder}/{i:03d}-{Path(found).name}"] = Path(found)
    # file_sd picks the format by extension: keep it in the pattern
    return f"{CONTAINER_DIR}/{folder}/*{suffix}"


def _to_host(job: dict[str, Any]) -> None:
    """Docker runtime: a target on localhost is this machine, reached as host.docker.internal.

    Done as the job's last relabel steps, after the user's own (which may still read or set
    ``__address__``), so every discovery mechanism is covered; ``instance`` keeps the address
    as written, so dashboards filtering on it still match.
    """
    if not isinstance(job.get("relabel_configs") or [], list):
        return  # promtool names it
    job["relabel_configs"] = list(job.get("relabel_configs") or []) + [
        {"source_labels": ["instance", "__address__"], "regex": ";(.+)", "target_label": "instance", "replacement": "$1"},
        {"source_labels": ["__address__"], "regex": f"{_LOCAL_RE}(:[0-9]+)?", "target_label": "__address__",
         "replacement": "host.docker.internal$2"},
    ]
    for sd in _items(job.get("http_sd_configs")):
        if isinstance(sd, dict) and isinstance(sd.get("url"), str):
            sd["url"] = re.sub(rf"^(https?://){_LOCAL_RE}(?=[:/]|$)", r"\1host.docker.internal", sd["url"])
    for sd in _items(job.get("consul_sd_configs")):
        if isinstance(sd, dict):
            sd["server"] = re.sub(rf"^{_LOCAL_RE}(?=:|$)", "host.docker.internal", str(sd.get("server") or "localhost:8500"))


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _same_service(name: str, job: dict[str, Any]) -> bool:
    """Does a job named like a stack service scrape that service (only static targets, all on it)?"""
    spec = SERVICES.get(name)
    if spec is None or set(k for k in job if k.endswith("_sd_configs")) or not job.get("static_configs"):
        return False
    ports = {str(spec.default_port), str(spec.container_port)}
    hosts = set(_LOCAL_HOSTS) | {name}
    groups = job["static_configs"] if isinstance(job["static_configs"], list) else []
    targets = [str(t) for sc in groups if isinstance(sc, dict) and isinstance(sc.get("targets"), list) for t in sc["targets"]]
    return bool(targets) and all(t.rpartition(":")[0] in hosts and t.rpartition(":")[2] in ports for t in targets)
