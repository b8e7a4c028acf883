"""``stackctl targets``: what Prometheus scrapes, whether it works, and why not.

The usual "why is my panel empty" is a target that is down: the app is not running, listens
only on 127.0.0.1 while Prometheus runs in a container, or serves metrics on another path.
Prometheus knows which (``lastError``); this module fetches it and adds a hint for the
user's own targets.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

import requests
import yaml

from stackctl.assets import asset_path
from stackctl.config import Config
from stackctl.errors import StackctlError
from stackctl.promfile import read_user_prometheus
from stackctl.render.configs import scrape_config
from stackctl.render.prometheus_user import USER_PREFIX
from stackctl.state import record

NEVER = "0001-01-01T00:00:00Z"  # Prometheus' lastScrape before the first scrape


@dataclass(frozen=True)
class TargetInfo:
    job: str
    instance: str
    scrape_url: str
    health: str  # up | down | unknown
    last_scrape: str | None  # RFC 3339, None before the first scrape
    last_scrape_age: float | None  # seconds
    last_error: str
    user: bool  # declared under `scrape:` in stackctl.yaml, or in the user's prometheus.yml
    hint: str | None = None

    def public(self) -> dict[str, Any]:
        return asdict(self)


def stack_runtime(cfg: Config) -> str:
    """The runtime that runs the stack now (recorded by `up`), else the configured one."""
    rec = record.load(cfg.state_dir)
    return rec.runtime if rec is not None else cfg.runtime


def fetch_targets(cfg: Config, *, now: datetime | None = None, timeout: float = 5) -> list[TargetInfo]:
    """Every active target of the running Prometheus, user targets first, each with a hint when down."""
    if "prometheus" not in cfg.services:
        raise StackctlError("prometheus is not one of this stack's services", hint="add it to --services / services: in stackctl.yaml")
    runtime = stack_runtime(cfg)
    url = f"{cfg.url('prometheus')}/api/v1/targets?state=active"
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
        active = response.json()["data"]["activeTargets"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise StackctlError(f"could not read targets from Prometheus at {url}: {exc}",
                            hint="is the stack running? `stackctl status` shows it; `stackctl up` starts it") from None
    user_jobs = {scrape_config(t, "native")["job_name"] for t in cfg.scrape} | _prometheus_config_jobs(cfg)
    now = now or datetime.now(timezone.utc)
    infos = [_info(raw, raw.get("scrapePool", "") in user_jobs, runtime, now) for raw in active]
    return sorted(infos, key=lambda t: (not t.user, t.job, t.instance))


def _prometheus_config_jobs(cfg: Config) -> set[str]:
    """The jobs of the user's own prometheus.yml, as render names them (one named like a stack
    job is scraped as ``user-<name>``, or left to the stack's job)."""
    if cfg.prometheus_config is None:
        return set()
    shipped = yaml.safe_load(asset_path("prometheus", "prometheus.yml").read_text(encoding="utf-8")) or {}
    stack_jobs = {str(j.get("job_name")) for j in shipped.get("scrape_configs") or []}
    return {USER_PREFIX + j.name if j.name in stack_jobs else j.name for j in read_user_prometheus(cfg.prometheus_config).jobs}


def _info(raw: dict[str, Any], user: bool, runtime: str, now: datetime) -> TargetInfo:
    labels = raw.get("labels", {})
    last = raw.get("lastScrape") or NEVER
    info = TargetInfo(
        job=str(labels.get("job") or raw.get("scrapePool", "")),
        instance=str(labels.get("instance", "")),
        scrape_url=str(raw.get("scrapeUrl", "")),
        health=str(raw.get("health", "unknown")),
        last_scrape=None if last.startswith("0001-") else last,
        last_scrape_age=_age(last, now),
        last_error=str(raw.get("lastError", "")),
        user=user,
    )
    return TargetInfo(**{**asdict(info), "hint": target_hint(info, runtime)})


def _age(stamp: str, now: datetime) -> float | None:
    if stamp.startswith("0001-"):
        return None
    # Prometheus writes nanoseconds; fromisoformat takes at most microseconds
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", stamp).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(trimmed)
    except ValueError:
        return None
    return max(0.0, (now - parsed).total_seconds())


def target_hint(target: TargetInfo, runtime: str) -> str | None:
    """What to try for a user target that is not up (built-in targets are stackctl's job)."""
    if not target.user or target.health == "up":
        return None
    if target.health == "unknown" and not target.last_error:
        return "not scraped yet: wait one scrape interval and run `stackctl targets` again"
    port = target.instance.rpartition(":")[2]
    check = f"check from this machine: curl http://127.0.0.1:{port}{_path(target.scrape_url)}"
    error = target.last_error.lower()
    if "connection refused" in error:
        if runtime == "docker":
            return ("connection refused from the Prometheus container: your app must listen on 0.0.0.0 or on the "
                    "docker0 bridge address (what host.docker.internal resolves to, usually 172.17.0.1), not only on "
                    f"127.0.0.1, to be reachable from containers; is it running? {check}")
        return f"nothing listens on 127.0.0.1:{port}: is your app running, on that port? {check}"
    host = target.scrape_url.split("://", 1)[-1].split("/", 1)[0].rpartition(":")[0]
    if ("no such host" in error or "server misbehaving" in error) and host != "host.docker.internal":
        return (f"the host {host!r} does not resolve {'in the Prometheus container' if runtime == 'docker' else 'on this machine'}: "
                "a service name of another setup (a compose file, a cluster)? Run that exporter here and scrape it "
                "as localhost:PORT, or leave the job out")
    if "no such host" in error or "server misbehaving" in error:
        return ("host.docker.internal does not resolve in the Prometheus container (it needs Docker 20.10+ for "
                "host-gateway); run `stackctl up` again, or write the host's address in stackctl.yaml")
    if "deadline exceeded" in error or "timeout" in error:
        return (f"the scrape timed out: the app answers too slowly, or a firewall drops traffic from the docker "
                f"bridge to port {port}; {check}" if runtime == "docker" else f"the scrape timed out; {check}")
    if "status 404" in error:
        return f"the app answers but not on {_path(target.scrape_url)}: set `path:` for this target in stackctl.yaml"
    return f"Prometheus reports: {target.last_error or target.health}; {check}"


def _path(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/metrics"
