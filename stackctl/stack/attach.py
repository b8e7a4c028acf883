"""The read side of the record of the running stack: a Config pointed at the stack a project
runs now (its runtime, bind, ports and services), its URLs, its logins. Every command that talks
to the stack goes through here; a project that is not running raises NotRunningError."""

from __future__ import annotations

from dataclasses import dataclass

from stackctl.config import Config
from stackctl.services import SERVICES, with_internal
from stackctl.state import record
from stackctl.state.record import StackRecord


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    state: str  # healthy | unhealthy | starting | stopped | absent
    url: str
    detail: str = ""

    def public(self) -> dict[str, str]:
        return {"service": self.service, "state": self.state, "url": self.url}


def absent(cfg: Config) -> list[ServiceStatus] | None:
    """Every service absent when nothing of the project exists on this machine (no state dir):
    answered without asking any runtime, so `status` of an absent project is instant."""
    if cfg.state_dir.exists():
        return None
    return [ServiceStatus(s, "absent", cfg.url(s)) for s in stack_services(cfg)]


def _with_record(cfg: Config, rec: StackRecord) -> Config:
    """``cfg`` pointed at the stack the record describes: its runtime, bind, ports and services."""
    ports = {**cfg.ports, **{s: p for s, p in rec.ports.items() if s in cfg.ports}}
    services = tuple(s for s in rec.services if s in SERVICES and not SERVICES[s].internal)
    return cfg.with_(ports=ports, bind=rec.bind, runtime=rec.runtime, services=services or cfg.services)


def attached(cfg: Config) -> Config:
    """``cfg`` as the running stack of its project has it (from the record of the last `up`).

    A stack started with other ports (in another shell, a kept pytest stack) is found from its
    state dir alone; a project that is not running raises NotRunningError, never a guess at the
    default ports.
    """
    return _with_record(cfg, record.running(cfg.state_dir, cfg.project))


def service_urls(cfg: Config) -> dict[str, str]:
    """Base URL of every service of the running stack (redis as redis://host:port)."""
    return record.running(cfg.state_dir, cfg.project).urls()


def stack_services(cfg: Config) -> tuple[str, ...]:
    """The services of the running stack (when the user did not name services now)."""
    rec = record.load(cfg.state_dir)
    if cfg.sources.get("services") == "default" and rec is not None and rec.running and rec.services:
        return rec.services
    return with_internal(cfg.services)


def is_running(cfg: Config) -> bool:
    rec = record.load(cfg.state_dir)
    return rec is not None and rec.running


def credentials(cfg: Config) -> dict[str, dict[str, str]]:
    """Logins of the stack's services (shown only on request: `stackctl urls --show-password`)."""
    from stackctl.state.dirs import secret

    out = {"grafana": {"user": "admin", "password": secret(cfg.state_dir, "grafana_admin_password")}}
    if cfg.redis_password:
        out["redis"] = {"user": "default", "password": cfg.redis_password}
    return out
