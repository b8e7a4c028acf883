"""The record of the running stack: the one file (``<state_dir>/stack.json``) every command trusts.

`up` writes it once everything it started is ready; `down` marks it stopped (the data, and the
scenario seeded into it, survive); `down --volumes` removes the whole state dir; the seeders
note the scenario they seeded. Every command that talks to the stack reads its URLs from here,
so a stack started with ports from one shell's environment is found from any other shell, and a
project that is not running is said to be so instead of probing whatever answers on a default
port. This module is the only reader and writer of that file.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from stackctl.errors import StackctlError
from stackctl.services import SERVICES
from stackctl.state.dirs import write_atomic

log = logging.getLogger("stackctl.state.record")
FILE = "stack.json"
VERSION = 2


class NotRunningError(StackctlError):
    """The project has no running stack (never started, or taken down)."""


@dataclass(frozen=True)
class Inputs:
    """What the user's config adds to the stack, to tell what another config would change."""

    targets: tuple[str, ...] = ()  # "job target/path"
    rules: tuple[str, ...] = ()
    dashboards: tuple[str, ...] = ()
    packs: tuple[str, ...] | None = None  # None: every built-in pack

    def changes(self, other: Inputs) -> list[str]:
        """What going from ``self`` to ``other`` adds and drops, one line per kind."""
        out: list[str] = []
        for kind in ("targets", "rules", "dashboards"):
            mine, theirs = set(getattr(self, kind)), set(getattr(other, kind))
            if theirs - mine:
                out.append(f"{kind} added: {', '.join(sorted(theirs - mine))}")
            if mine - theirs:
                out.append(f"{kind} dropped: {', '.join(sorted(mine - theirs))}")
        if self.packs != other.packs:
            out.append(f"packs: {_packs(self.packs)} -> {_packs(other.packs)}")
        return out


def _packs(packs: tuple[str, ...] | None) -> str:
    return "all" if packs is None else ", ".join(packs) or "none"


@dataclass(frozen=True)
class StackRecord:
    project: str
    runtime: str  # docker | native
    services: tuple[str, ...]  # the internal ones (notify-sink) included
    ports: Mapping[str, int]
    bind: str = "127.0.0.1"
    config_file: str | None = None  # the stackctl.yaml `up` read (None: none, defaults only)
    config_dir: str | None = None  # the working directory of that `up`
    inputs: Inputs = field(default_factory=Inputs)
    scenario: str | None = None  # the scenario last seeded into this stack's data
    running: bool = True  # False after `down` (data kept)
    started_at: float = 0.0
    updated: float = 0.0

    def url(self, service: str) -> str:
        return SERVICES[service].url(self.bind, int(self.ports[service]))

    def urls(self) -> dict[str, str]:
        return {s: self.url(s) for s in self.services if s in self.ports and s in SERVICES}

    def has(self, service: str) -> bool:
        return service in self.services and service in self.ports

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = VERSION
        return data


def path(state_dir: Path) -> Path:
    return state_dir / FILE


def load(state_dir: Path) -> StackRecord | None:
    """The record, or None when there is none (or it is unreadable: then nothing is trusted)."""
    try:
        data = json.loads(path(state_dir).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring the unreadable stack record %s: %s", path(state_dir), exc)
        return None
    try:
        return _parse(data)
    except (TypeError, ValueError, KeyError) as exc:
        log.warning("ignoring the malformed stack record %s: %s", path(state_dir), exc)
        return None


def _parse(data: Mapping[str, Any]) -> StackRecord:
    if data.get("runtime") not in ("docker", "native"):
        raise ValueError(f"unknown runtime {data.get('runtime')!r}")
    ports = {str(k): int(v) for k, v in dict(data.get("ports") or {}).items() if not isinstance(v, bool)}
    raw_inputs = dict(data.get("inputs") or {})
    packs = raw_inputs.get("packs")
    lists = {k: tuple(str(x) for x in raw_inputs.get(k) or ()) for k in ("targets", "rules", "dashboards")}
    inputs = Inputs(targets=lists["targets"], rules=lists["rules"], dashboards=lists["dashboards"],
                    packs=None if packs is None else tuple(str(p) for p in packs))
    return StackRecord(
        project=str(data["project"]), runtime=str(data["runtime"]),
        services=tuple(str(s) for s in data.get("services") or () if s in SERVICES), ports=ports,
        bind=str(data.get("bind") or "127.0.0.1"), config_file=_opt(data.get("config_file")),
        config_dir=_opt(data.get("config_dir")), inputs=inputs, scenario=_opt(data.get("scenario")),
        running=bool(data.get("running", True)), started_at=float(data.get("started_at") or data.get("updated") or 0),
        updated=float(data.get("updated") or 0),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def save(state_dir: Path, rec: StackRecord) -> None:
    rec = replace(rec, updated=time.time())
    write_atomic(path(state_dir), json.dumps(rec.as_json(), indent=2, sort_keys=True) + "\n")


def mark_stopped(state_dir: Path) -> None:
    """After `down`: the stack is gone, its data (and what was seeded into it) stays."""
    rec = load(state_dir)
    if rec is not None and rec.running:
        try:
            save(state_dir, replace(rec, running=False))
        except StackctlError as exc:
            # a read-only or full state dir must not make `down` fail once the stack is stopped:
            # the stale record then points at servers that no longer answer, which commands say
            log.warning("could not mark the stack stopped: %s", exc.message)


def note_scenario(state_dir: Path, scenario: str) -> None:
    """A seeder wrote ``scenario`` into this stack: `verify` checks its expected alerts."""
    rec = load(state_dir)
    if rec is not None and rec.scenario != scenario:
        save(state_dir, replace(rec, scenario=scenario))


def running(state_dir: Path, project: str) -> StackRecord:
    """The record of the running stack, or a NotRunningError naming the project."""
    rec = load(state_dir)
    if rec is None or not rec.running:
        raise not_running(state_dir, project, rec)
    return rec


def not_running(state_dir: Path, project: str, rec: StackRecord | None = None) -> NotRunningError:
    why = "it was taken down (`stackctl down`)" if rec is not None else f"no stack record in {state_dir}"
    return NotRunningError(
        f"project {project} is not running: {why}",
        hint="start it with `stackctl up` (same --project / STACKCTL_PROJECT / STACKCTL_STATE_DIR), "
             "or point the command at a server with its --prometheus-url / --alertmanager-url option",
    )
