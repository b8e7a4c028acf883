from __future__ import annotations

from typing import Annotated

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, ProjectOpt, RuntimeOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("down")
    def down(
        volumes: Annotated[bool, typer.Option("--volumes", "-v", help="Also delete the data and every other file of the project (its state dir).")] = False,
        runtime: RuntimeOpt = None,
        project: ProjectOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """Stop and remove the stack (data survives unless --volumes)."""
        from stackctl.stack import orchestrator as stack

        cfg = config_from(config, runtime=runtime, project=project)
        with console.status(f"stopping {cfg.project}..."):
            stopped = stack.down(cfg, volumes=volumes)
        what = ", ".join(stopped) if stopped else "nothing was running"
        console.success(f"stopped: {what}" + (f"; data and state removed ({cfg.state_dir})" if volumes
                                              else "; data kept (use --volumes to remove it)"))
