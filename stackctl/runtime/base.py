"""The one contract every runtime implements (docker compose, native processes).

A runtime starts, stops and inspects *processes/containers*; readiness probing, rendering,
locking and cleanup-on-failure live in ``stackctl.stack.orchestrator`` so both runtimes share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

from stackctl.config import Config
from stackctl.errors import StackctlError


def _quiet(_message: str) -> None:
    pass


STATES = ("healthy", "unhealthy", "starting", "stopped", "absent")


@dataclass(frozen=True)
class RawState:
    """What the runtime itself knows about a service, before any probe."""

    service: str
    state: str  # running | stopped | absent
    health: str | None = None  # the engine's own health verdict, when it has one
    detail: str = ""


class Runtime(Protocol):
    name: str

    def available(self) -> tuple[bool, str]:
        """Can this runtime run here? (answer, reason)."""

    def missing(self, cfg: Config, services: tuple[str, ...], on_message: Callable[[str], None] = _quiet) -> dict[str, StackctlError]:
        """Services this runtime cannot provide here (no binary / no image), with the reason."""

    def prepare(self, cfg: Config, services: tuple[str, ...]) -> None:
        """Preflight before anything starts: binaries/images present. Raises with hints."""

    def start(self, cfg: Config, services: tuple[str, ...]) -> None:
        """Start (or keep) ``services``; idempotent."""

    def exited(self, cfg: Config, service: str) -> str | None:
        """A message with the last log lines if ``service`` has died, else None."""

    def stop(self, cfg: Config, services: tuple[str, ...] | None, volumes: bool) -> list[str]:
        """Stop and remove (all when ``services`` is None); returns what was stopped."""

    def restart(self, cfg: Config, service: str) -> None:
        """Stop ``service`` and start it again with the same command, data kept (no readiness wait)."""

    def raw_status(self, cfg: Config, services: tuple[str, ...]) -> list[RawState]: ...

    def logs(self, cfg: Config, service: str, tail: int, follow: bool) -> Iterator[str]: ...

    def foreign_listener(self, cfg: Config, service: str) -> str | None:
        """Why the process answering on ``service``'s port is not the one this runtime started
        (another project racing for the port), or None when it is ours (or cannot be told)."""

    def running_services(self, cfg: Config) -> tuple[str, ...]:
        """Services of this project the runtime currently has running."""
