"""The stack's definition, read from compose/docker-compose.yml: one source for both runtimes.

The docker runtime renders it into a per-project compose file; the native runtime turns each
service's command, environment and mounts into a local process, mapping container paths to
state-dir paths. Neither keeps a hand-written copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from stackctl.assets import asset_path
from stackctl.config import Config

_VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Mount:
    source: str  # a named volume ("prometheus-data") or an asset folder relative to the assets root ("prometheus")
    target: str
    read_only: bool
    named: bool


@dataclass(frozen=True)
class ServiceDef:
    name: str
    raw: dict[str, Any]  # the compose service as written (variables un-substituted)
    command: tuple[str, ...]
    entrypoint: tuple[str, ...]
    environment: dict[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()

    def argv_tail(self) -> list[str]:
        """Arguments after the binary: the entrypoint's extra words, then the command."""
        words = list(self.entrypoint[1:]) + list(self.command)
        # redis-style commands repeat the binary name; the native runtime supplies its own.
        if words and not words[0].startswith("-") and "/" not in words[0] and words[0].endswith("server"):
            words = words[1:]
        return words


def substitute_defaults(value: str) -> str:
    """``${VAR:-default}`` -> ``default`` (the definition's own defaults)."""
    return _VAR_RE.sub(lambda m: m.group(2) or "", value)


def _as_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    return tuple(str(v) for v in value)


def _mounts(raw: dict[str, Any], named_volumes: set[str]) -> tuple[Mount, ...]:
    out = []
    for spec in raw.get("volumes", []) or []:
        parts = str(spec).split(":")
        source, target = parts[0], parts[1]
        read_only = len(parts) > 2 and "ro" in parts[2].split(",")
        named = source in named_volumes
        if not named:
            # "../prometheus" relative to compose/ -> "prometheus" relative to the assets root
            source = str(Path(source).as_posix()).removeprefix("../")
        out.append(Mount(source, target, read_only, named))
    return tuple(out)


@lru_cache(maxsize=1)
def load_definition() -> dict[str, ServiceDef]:
    doc = yaml.safe_load(asset_path("compose", "docker-compose.yml").read_text(encoding="utf-8"))
    named = set((doc.get("volumes") or {}).keys())
    defs: dict[str, ServiceDef] = {}
    for name, raw in doc["services"].items():
        env = {k: substitute_defaults(str(v)) for k, v in (raw.get("environment") or {}).items()}
        defs[name] = ServiceDef(
            name=name,
            raw=raw,
            command=_as_list(raw.get("command")),
            entrypoint=_as_list(raw.get("entrypoint")),
            environment=env,
            mounts=_mounts(raw, named),
        )
    return defs


def compose_document() -> dict[str, Any]:
    """A fresh copy of the whole compose document."""
    return yaml.safe_load(asset_path("compose", "docker-compose.yml").read_text(encoding="utf-8"))

def data_dir(cfg: Config, volume: str) -> Path:
    return cfg.state_dir / "data" / volume.removesuffix("-data")


def container_path_map(cfg: Config) -> dict[str, Path]:
    """Every container mount target -> its host path, across all services."""
    mapping: dict[str, Path] = {}
    for sdef in load_definition().values():
        for mount in sdef.mounts:
            host = data_dir(cfg, mount.source) if mount.named else rendered_root(cfg) / mount.source
            mapping.setdefault(mount.target, host)
    return mapping


def rendered_root(cfg: Config) -> Path:
    return cfg.state_dir / "rendered"
