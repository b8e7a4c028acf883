from __future__ import annotations

from typing import Annotated, Optional

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("notifications")
    def notifications(
        sink_url: Annotated[Optional[str], typer.Option("--sink-url", help="Read this notification sink instead of the stack's.")] = None,
        json: JsonOpt = False, project: ProjectOpt = None, config: ConfigOpt = None,
    ) -> None:
        """What the local notification sink received: who would have been paged, and for what."""
        from stackctl.verify.alerts import notifications as read_notifications

        if sink_url is None:
            from stackctl.stack.orchestrator import service_urls

            sink_url = service_urls(config_from(config, project=project))["notify-sink"]
        records = read_notifications(sink_url)
        if json:
            console.json_out([r.__dict__ for r in records])
            return
        if not records:
            console.info("the notification sink has received nothing yet")
            return
        console.table(["receiver", "status", "alert", "severity", "since", "labels"],
                      [(r.receiver, r.status, r.alertname, r.severity, r.starts_at,
                        ", ".join(f"{k}={v}" for k, v in r.labels.items() if k not in ("alertname", "severity")))
                       for r in records], state_column="status")
