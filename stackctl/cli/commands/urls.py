from __future__ import annotations

from typing import Annotated

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("urls")
    def urls(
        show_password: Annotated[bool, typer.Option("--show-password", help="Also print the generated Grafana admin password (and Redis').")] = False,
        json: JsonOpt = False,
        project: ProjectOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """The stack's URLs, and its logins on request."""
        from stackctl.stack import orchestrator as stack

        cfg = config_from(config, project=project)
        links = stack.service_urls(cfg)
        logins = stack.credentials(cfg) if show_password else {}
        if json:
            console.json_out({"urls": links, "credentials": logins})
            return
        rows = [(s, u, " / ".join(logins[s].values()) if s in logins else "") for s, u in links.items()]
        console.table(["service", "url", "login"], rows)
        if not show_password:
            console.info("logins are hidden: add --show-password (Grafana's admin password is generated per project)")
