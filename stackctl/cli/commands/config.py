from __future__ import annotations

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, RuntimeOpt, ServicesOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("config")
    def config_cmd(json: JsonOpt = False, runtime: RuntimeOpt = None, services: ServicesOpt = None, project: ProjectOpt = None, config: ConfigOpt = None) -> None:
        """The effective configuration, where each value came from, and which runtime runs it."""
        from stackctl.stack import orchestrator as stack

        cfg = config_from(config, runtime=runtime, services=services, project=project)
        choice = stack.explain_choice(cfg)
        data = cfg.public_dict() | {"runtime_chosen": choice.runtime.name, "runtime_reason": choice.reason}
        if json:
            console.json_out(data)
            return
        rows = [(k, v if not isinstance(v, (dict, list)) else ", ".join(f"{a}={b}" for a, b in v.items()) if isinstance(v, dict) else ", ".join(map(str, v)))
                for k, v in data.items() if k != "sources"]
        console.table(["setting", "value"], rows)
        console.table(["setting", "from"], sorted(cfg.sources.items()))
