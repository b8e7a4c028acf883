from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from stackctl.install.obtain import Step
from stackctl.stack import orchestrator as stack
from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, ProjectOpt, RuntimeOpt, ServicesOpt, config_from
from stackctl.state.health import Progress
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.background import start_background_seeder


def register(app: typer.Typer) -> None:
    @app.command("up")
    def up(
        runtime: RuntimeOpt = None,
        services: ServicesOpt = None,
        timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds to wait for every service to be healthy.")] = None,
        keep_on_failure: Annotated[bool, typer.Option("--keep-on-failure", help="Leave started services running when up fails.")] = False,
        seed: Annotated[Optional[str], typer.Option("--seed", help="Then seed this scenario (30m of history, then live in the background).")] = None,
        no_install: Annotated[bool, typer.Option(
            "--no-install", help="Native runtime: never download a missing server binary (also STACKCTL_NO_INSTALL=1, install: false).",
        )] = False,
        project: ProjectOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """Start the stack and wait until every service is healthy; on the native runtime, get missing binaries first."""
        cfg = config_from(config, runtime=runtime, services=services, project=project, timeout=timeout,
                          install=False if no_install else None)
        scenario = load_scenario(seed) if seed else None  # a bad name fails before anything starts
        started = time.monotonic()
        with console.LiveTable(["service", "state", "elapsed", "probe"], state_column="state") as live:
            def show(progress: list[Progress]) -> None:
                live.update([(p.service, p.state, f"{p.elapsed:.1f}s", p.detail) for p in progress])

            steps: dict[str, Step] = {}

            def installing(step: Step) -> None:
                steps[step.service] = step
                live.update([(st.service, st.state, f"{st.elapsed:.1f}s", _step_detail(st)) for st in steps.values()])
                if step.state == "installed":  # a failure is reported once, as the service's error
                    console.success(f"{step.service}: got {step.detail}")

            statuses = stack.up(cfg, timeout=timeout, keep_on_failure=keep_on_failure, on_progress=show,
                                on_message=console.info, on_install=installing)
        console.table(["service", "state", "url"], [(s.service, s.state, s.url) for s in statuses], state_column="state")
        console.success(f"stack {cfg.project} is up in {time.monotonic() - started:.1f}s")
        if scenario is not None:
            pid = start_background_seeder(cfg, scenario.name)
            console.success(f"seeding {scenario.name} in the background (pid {pid}): `stackctl seed status`, `stackctl seed stop`")


def _step_detail(step: Step) -> str:
    if step.state != "downloading" or not step.done:
        return step.detail
    mib = 1024 * 1024
    size = f"{step.done / mib:.1f}/{step.total / mib:.1f} MiB" if step.total else f"{step.done / mib:.1f} MiB"
    return f"{step.detail} {size}"
