from __future__ import annotations

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, config_from
from stackctl.verify.alerts import notifications as read_notifications


def register(app: typer.Typer) -> None:
    @app.command("notifications")
    def notifications(json: JsonOpt = False, project: ProjectOpt = None, config: ConfigOpt = None) -> None:
        """What the local notification sink received: who would have been paged, and for what."""
        cfg = config_from(config, project=project)
        records = read_notifications(cfg.url("notify-sink"))
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
