"""Checks `up` runs before it starts anything: every busy port at once, a project already
running on the other runtime, and a config other than the one the running stack came from."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from stackctl.config import Config
from stackctl.errors import PortInUseError, UsageError
from stackctl.render.user_provisioning import dashboard_sources
from stackctl.state.record import Inputs, StackRecord


class ConfigChangedError(UsageError):
    """`up` would re-render a running stack from another config file than the one it came from."""


def inputs_of(cfg: Config) -> Inputs:
    """What ``cfg`` adds to the stack: scrape targets, rule files, dashboard folders, packs."""
    targets = tuple(sorted(f"{t.job or 'app'} {t.target}{t.path}" for t in cfg.scrape))
    return Inputs(targets=targets, rules=tuple(sorted(str(p) for p in cfg.rules)),
                  dashboards=tuple(sorted(str(p) for p in (*cfg.dashboards, *dashboard_sources(cfg)))), packs=cfg.packs)


def config_file_of(cfg: Config) -> str | None:
    return str(cfg.config_file.resolve()) if cfg.config_file else None


def _describe(config_file: str | None, config_dir: str | None) -> str:
    if config_file:
        return config_file
    return f"no stackctl.yaml (defaults, from {config_dir})" if config_dir else "no stackctl.yaml (defaults)"


def check_config_change(cfg: Config, live: StackRecord | None, replace_config: bool,
                        on_message: Callable[[str], None] = lambda _m: None) -> None:
    """A running stack is re-rendered only from the config it came from, unless asked to."""
    if live is None:
        return
    now = config_file_of(cfg)
    if now == live.config_file or (now and live.config_file and Path(now).resolve() == Path(live.config_file).resolve()):
        return
    changes = live.inputs.changes(inputs_of(cfg)) or ["no scrape target, rule file, dashboard folder or pack changes"]
    what = (f"the running stack {cfg.project} was started from {_describe(live.config_file, live.config_dir)}; "
            f"this `up` reads {_describe(now, str(Path.cwd()))}. It would change:\n  " + "\n  ".join(changes))
    if replace_config:
        on_message(f"replacing the config (--replace-config): {what}")
        return
    back = f"cd {Path(live.config_file).parent}" if live.config_file else f"cd {live.config_dir}" if live.config_dir else "the other folder"
    raise ConfigChangedError(what, hint=f"run `up` from where the stack came from ({back}, or --config), "
                                        "or add --replace-config to apply this config to the running stack")


def check_runtime_switch(cfg: Config, live_runtime: str | None, wanted: str) -> None:
    """`up --runtime docker` on a project running natively (or the reverse): say to `down` first."""
    if live_runtime is None or live_runtime == wanted:
        return
    raise UsageError(
        f"project {cfg.project} is already running on the {live_runtime} runtime; `up` cannot move it to {wanted} while it runs",
        hint=f"take it down first: `stackctl down -p {cfg.project}`, then `stackctl up --runtime {wanted}` (data dirs are not shared between runtimes)",
    )


def check_ports(cfg: Config, services: tuple[str, ...], running: tuple[str, ...],
                ours: Callable[[int], bool] = lambda _pid: False) -> None:
    """Every port a service to start needs, checked together: one error lists every conflict.

    ``ours(pid)``: the holder is a process of this very project (started on another runtime, or
    by an `up` whose record was lost), which gets "down first" rather than "stop that process".
    """
    from stackctl.state.ports import listener_pids, port_free, port_holder

    conflicts: list[str] = []
    fixes: list[str] = []
    own = False
    for service in services:
        if service in running:
            continue
        port = cfg.port(service)
        if port_free(cfg.bind, port):
            continue
        holder = port_holder(port)
        own = own or any(ours(pid) for pid in listener_pids(port))
        conflicts.append(f"{service} needs port {port} on {cfg.bind}, taken{f' by {holder}' if holder else ''}")
        fixes.append(f"STACKCTL_PORT_{service.upper().replace('-', '_')}={_suggest(port)}")
    if not conflicts:
        return
    if own:
        raise PortInUseError(
            f"project {cfg.project} already runs there: " + "; ".join(conflicts),
            hint=f"take it down first (`stackctl down -p {cfg.project}`), then `up` again",
        )
    head = "a port the stack needs is taken" if len(conflicts) == 1 else f"{len(conflicts)} ports the stack needs are taken"
    raise PortInUseError(
        f"{head}:\n  " + "\n  ".join(conflicts),
        hint="stop those processes, or give the services other ports: " + " ".join(fixes) + " (or ports: in stackctl.yaml)",
    )


def _suggest(port: int) -> int:
    return port + 10000 if port + 10000 <= 65535 else port - 10000
