"""Where seeding meets the running stack for the alert-state restore (``alert_state``).

Used by the foreground seed (``background``) and the detached seeder (``daemon``) alike: the
hook runs after the history is written; Prometheus is restarted only when the URL seeded is
the one of the stack stackctl runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from stackctl.errors import StackctlError
from stackctl.seeding import alert_state
from stackctl.seeding.engine import SeedReport, SeedTargets
from stackctl.seeding.rule_history import loaded_rules


def stack_restarter(cfg: Any | None, prometheus_url: str | None) -> alert_state.Restart | None:
    """Restarting Prometheus, if ``prometheus_url`` is the one of the stack of ``cfg``."""
    if cfg is None or not prometheus_url:
        return None
    from stackctl.stack import orchestrator
    from stackctl.state.record import NotRunningError

    try:
        cfg = orchestrator.attached(cfg)
    except NotRunningError:  # not a stack stackctl runs: nothing of ours to restart
        return None
    if "prometheus" not in orchestrator.stack_services(cfg) or cfg.url("prometheus").rstrip("/") != prometheus_url.rstrip("/"):
        return None
    return lambda: orchestrator.restart_service(cfg, "prometheus")


def alert_state_hook(cfg: Any | None, targets: SeedTargets, history_s: float, progress: Callable[[str], None],
                     groups: Sequence[Mapping[str, Any]] | None = None) -> Callable[[SeedReport], None]:
    """After the history: make the alerts it implies pending or firing (``alert_state``).

    ``groups``: parsed rule files (``seed --from``): only their rules, as Prometheus loaded
    them; None: every rule Prometheus has loaded (packs and the user's ``rules:``).
    """
    def hook(report: SeedReport) -> None:
        url = targets.prometheus_url
        if not url or "prometheus" in report.skipped:
            return
        restart = stack_restarter(cfg, url)
        try:
            if groups is not None:
                result = alert_state.restore_groups(url, groups, history_s, restart, progress)
            else:
                result = alert_state.restore(url, loaded_rules(url), history_s, restart, progress)
        except StackctlError as exc:  # the history is in; alerts then only wait out their `for:`
            progress(f"warning: alert state not restored: {exc.message}")
            report.alert_state = [f"not restored: {exc.message}"]
            return
        report.alert_state = result.lines()
    return hook


def daemon_stack(cfg: Any | None) -> dict[str, Any] | None:
    """What the detached seeder needs to load the same config (to restart Prometheus)."""
    if cfg is None:
        return None
    return {"config_file": str(cfg.config_file) if cfg.config_file else None, "cwd": str(Path.cwd()),
            "project": cfg.project, "state_dir": str(cfg.state_dir)}


def stack_config(spec: dict[str, Any] | None) -> Any | None:
    """The config of the stack that started a detached seeder (None: seeding explicit URLs)."""
    if not spec:
        return None
    from stackctl.config import load_config

    return load_config(spec.get("config_file"), flags={"project": spec["project"], "state_dir": spec["state_dir"]},
                       cwd=Path(spec["cwd"]))
