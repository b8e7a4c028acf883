from __future__ import annotations

import typer

from stackctl.stack import orchestrator as stack
from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, config_from
from stackctl.verify.alerts import current_alerts


def register(app: typer.Typer) -> None:
    @app.command("alerts")
    def alerts(json: JsonOpt = False, project: ProjectOpt = None, config: ConfigOpt = None) -> None:
        """The alerts as Prometheus (pending/firing) and Alertmanager (active/suppressed) see them now."""
        cfg = config_from(config, project=project)
        urls = stack.service_urls(cfg.with_(services=stack.stack_services(cfg)))
        rows = current_alerts(urls.get("prometheus"), urls.get("alertmanager"))
        if json:
            console.json_out([r.__dict__ for r in rows])
            return
        if not rows:
            console.info("no alert is pending, firing or active")
            return
        console.table(["source", "alert", "state", "severity", "since", "value / receivers", "labels"],
                      [(r.source, r.alertname, r.state, r.severity, r.active_at, r.value or ", ".join(r.receivers),
                        ", ".join(f"{k}={v}" for k, v in r.labels.items() if k not in ("alertname", "severity")))
                       for r in rows], state_column="state")
