from __future__ import annotations

from typing import Annotated

import typer

from stackctl.stack import orchestrator as stack
from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, ProjectOpt, RuntimeOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("down")
    def down(
        volumes: Annotated[bool, typer.Option("--volumes", "-v", help="Also delete the data volumes / data dirs.")] = False,
        runtime: RuntimeOpt = None,
        project: ProjectOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """Stop and remove the stack (data survives unless --volumes)."""
        cfg = config_from(config, runtime=runtime, project=project)
        with console.status(f"stopping {cfg.project}..."):
            stopped = stack.down(cfg, volumes=volumes)
        what = ", ".join(stopped) if stopped else "nothing was running"
        console.success(f"stopped: {what}" + ("; data removed" if volumes else "; data kept (use --volumes to remove it)"))
