from __future__ import annotations

from typing import Annotated

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, ProjectOpt, RuntimeOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("logs")
    def logs(
        service: Annotated[str, typer.Argument(help="prometheus, alertmanager, pushgateway, redis, grafana, loki or notify-sink.")],
        tail: Annotated[int, typer.Option("--tail", "-n", min=0, help="Lines from the end (0: all).")] = 100,
        follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
        runtime: RuntimeOpt = None,
        project: ProjectOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """Print a service's log."""
        from stackctl.stack import orchestrator as stack

        cfg = config_from(config, runtime=runtime, project=project)
        for line in stack.logs(cfg, service, tail, follow):
            console.plain_out(line)
