"""The user's own prometheus.yml (``prometheus.config`` in stackctl.yaml), read and checked.

Everything Prometheus would refuse about the file's *shape* is refused here with the file and
line (not YAML, not a mapping, an unknown top-level key, a job without a name, two jobs of one
name), and its ``rule_files`` globs are resolved the way Prometheus resolves them (relative to
the file). ``load_config`` adds those rule files to ``rules:``, so they are promtool-checked,
synthesized by ``seed`` and loaded like any other; ``render.prometheus_user`` merges the rest
into the stack's own configuration.

``scrape_config_files`` (Prometheus 2.43+) are read here too and their jobs inlined: the
result then loads on every Prometheus the stack may run, 2.42 included.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackctl.errors import ConfigError
from stackctl.yamlfile import LocatedYaml, read_yaml, suggest

# Prometheus' top-level keys (config.Config, 2.x and 3.x); any other one makes it refuse the file.
TOP_LEVEL = ("global", "runtime", "rule_files", "scrape_config_files", "scrape_configs", "storage",
             "tracing", "alerting", "remote_write", "remote_read", "otlp")
HINT = "fix the file named by `prometheus.config` in stackctl.yaml (docs/prometheus-config.md) and retry"


@dataclass(frozen=True)
class UserJob:
    """One of the user's scrape configs and where it was written."""

    config: dict[str, Any]
    doc: LocatedYaml
    path: tuple[Any, ...]  # its place in ``doc``: ("scrape_configs", 2)

    @property
    def name(self) -> str:
        return str(self.config["job_name"])

    def where(self, *sub: Any) -> str:
        line = self.doc.line_of(self.path + sub)
        return f"{self.doc.source}:{line}" if line else self.doc.source


@dataclass(frozen=True)
class UserPrometheus:
    path: Path
    doc: LocatedYaml
    data: dict[str, Any]
    jobs: tuple[UserJob, ...]
    rule_files: tuple[Path, ...]
    notes: tuple[str, ...] = ()  # paths found beside the file rather than where written

    def where(self, *path: Any) -> str:
        line = self.doc.line_of(path)
        return f"{self.doc.source}:{line}" if line else self.doc.source


def read_user_prometheus(path: Path) -> UserPrometheus:
    """Read and check ``path``; raises ConfigError naming the file and line."""
    doc = _mapping(path)
    data: dict[str, Any] = doc.data or {}
    for key in data:
        if key not in TOP_LEVEL:
            raise ConfigError(f"{_at(doc, (key,))}: {key!r} is not a Prometheus configuration key{suggest(str(key), TOP_LEVEL)}",
                              hint=f"Prometheus refuses unknown keys; top-level keys are: {', '.join(TOP_LEVEL)}")
    for key in ("global", "storage", "alerting", "tracing", "runtime", "otlp"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ConfigError(f"{_at(doc, (key,))}: {key} must be a mapping, not {type(data[key]).__name__}", hint=HINT)
    notes: list[str] = []
    jobs = _jobs(doc, data) + _included_jobs(path, doc, data, notes)
    _unique(jobs)
    rule_files = _rule_files(path, doc, data, notes)
    return UserPrometheus(path, doc, data, tuple(jobs), tuple(rule_files), tuple(notes))


def _mapping(path: Path) -> LocatedYaml:
    if not path.is_file():
        raise ConfigError(f"{path}: the Prometheus configuration does not exist or is not a file",
                          hint="`prometheus.config` in stackctl.yaml is relative to stackctl.yaml")
    doc = read_yaml(path, ConfigError)
    if doc.data is not None and not isinstance(doc.data, dict):
        raise ConfigError(f"{path}:{doc.line_of(()) or 1}: a Prometheus configuration is a mapping "
                          f"(global:, scrape_configs:, ...), not a {type(doc.data).__name__}",
                          hint="is this a prometheus.yml? rule files go under `rules:` in stackctl.yaml")
    return doc


def _at(doc: LocatedYaml, path: tuple[Any, ...]) -> str:
    line = doc.line_of(path)
    return f"{doc.source}:{line}" if line else doc.source


def _list(doc: LocatedYaml, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []  # `rule_files:` holding only comments: Prometheus reads it as empty
    if not isinstance(value, list):
        raise ConfigError(f"{_at(doc, (key,))}: {key} must be a list, not {type(value).__name__}", hint=HINT)
    return value


def _jobs(doc: LocatedYaml, data: dict[str, Any]) -> list[UserJob]:
    jobs = []
    for i, item in enumerate(_list(doc, data, "scrape_configs")):
        where = _at(doc, ("scrape_configs", i))
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: scrape_configs[{i}] must be a mapping with a job_name", hint=HINT)
        name = item.get("job_name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: scrape_configs[{i}] has no job_name (Prometheus requires one)",
                              hint="add `job_name: my-app`: it becomes the `job` label of what it scrapes")
        jobs.append(UserJob(item, doc, ("scrape_configs", i)))
    return jobs


def _included_jobs(path: Path, doc: LocatedYaml, data: dict[str, Any], notes: list[str]) -> list[UserJob]:
    jobs = []
    for i, pattern in enumerate(_list(doc, data, "scrape_config_files")):
        for included in _expand(path, doc, ("scrape_config_files", i), pattern, notes):
            inner = _mapping(included)
            extra = set(inner.data or {}) - {"scrape_configs"}
            if extra:
                raise ConfigError(f"{included}: a scrape config file holds only scrape_configs, not {', '.join(sorted(map(str, extra)))}",
                                  hint=f"it is included by {_at(doc, ('scrape_config_files', i))}")
            jobs += _jobs(inner, inner.data or {})
    return jobs


def _unique(jobs: list[UserJob]) -> None:
    seen: dict[str, UserJob] = {}
    for job in jobs:
        if job.name in seen:
            raise ConfigError(f"{job.where('job_name')}: job_name {job.name!r} is already the name of the job at "
                              f"{seen[job.name].where('job_name')}",
                              hint="Prometheus refuses two scrape configs of one job name: rename or merge one")
        seen[job.name] = job


def _expand(base_file: Path, doc: LocatedYaml, at: tuple[Any, ...], pattern: Any, notes: list[str]) -> list[Path]:
    """A path or glob of the user's file, relative to that file, as Prometheus reads it."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ConfigError(f"{_at(doc, at)}: expected a file path or glob, got {pattern!r}", hint=HINT)
    full, note = resolve_path(base_file, pattern)
    if note:
        notes.append(f"{_at(doc, at)}: {note}")
    if glob.has_magic(full):
        return sorted(Path(p) for p in glob.glob(full) if Path(p).is_file())
    if not Path(full).is_file():
        raise ConfigError(f"{_at(doc, at)}: {pattern!r} does not exist (resolved to {full})",
                          hint="paths in prometheus.yml are relative to that file, as Prometheus reads them")
    return [Path(full)]


def resolve(base_file: Path, value: str) -> str:
    return resolve_path(base_file, value)[0]


def resolve_path(base_file: Path, value: str) -> tuple[str, str | None]:
    """Where ``value`` points, and a note when it was found by its tail.

    Prometheus resolves a relative path against its config file's folder (config.SetDirectory).
    An absolute path that does not exist here is usually the container path of the setup the
    file came from (``./prometheus`` mounted at ``/etc/prometheus``, ``rule_files:
    [/etc/prometheus/alert.rules]``): the same tail beside the file is what it means.
    """
    path = Path(value).expanduser()
    if not path.is_absolute():
        return str((base_file.parent / path).resolve()), None
    if _exists(str(path)):
        return str(path), None
    tail = path.parts[1:]
    for i in range(1, len(tail)):
        candidate = base_file.parent.resolve().joinpath(*tail[i:])
        if _exists(str(candidate)):
            return str(candidate), f"{value} does not exist here: using {candidate} (the same path beside the file)"
    return str(path), None


def _exists(path: str) -> bool:
    return bool(glob.glob(path)) if glob.has_magic(path) else Path(path).exists()


def _rule_files(path: Path, doc: LocatedYaml, data: dict[str, Any], notes: list[str]) -> list[Path]:
    out: list[Path] = []
    for i, pattern in enumerate(_list(doc, data, "rule_files")):
        for found in _expand(path, doc, ("rule_files", i), pattern, notes):
            if found.resolve() not in out:
                out.append(found.resolve())
    return out
