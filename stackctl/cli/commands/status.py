from __future__ import annotations

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, RuntimeOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(json: JsonOpt = False, runtime: RuntimeOpt = None, project: ProjectOpt = None, config: ConfigOpt = None) -> None:
        """Each service's state: healthy, unhealthy, starting, stopped or absent."""
        from stackctl.stack.attach import absent, is_running

        cfg = config_from(config, runtime=runtime, project=project)
        statuses = absent(cfg)  # nothing of this project here: no runtime to ask
        if statuses is None:
            from stackctl.stack import orchestrator as stack

            statuses = stack.status(cfg)
        if json:
            console.json_out([s.public() for s in statuses])
        else:
            console.table(["service", "state", "url", "detail"], [(s.service, s.state, s.url, s.detail) for s in statuses], state_column="state")
        if not is_running(cfg):
            console.info(f"project {cfg.project} is not running (`stackctl up` starts it)")
