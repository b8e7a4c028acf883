from __future__ import annotations

from typing import Annotated, Optional

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("alerts")
    def alerts(
        prometheus_url: Annotated[Optional[str], typer.Option("--prometheus-url", help="Read this Prometheus instead of the stack's.")] = None,
        alertmanager_url: Annotated[Optional[str], typer.Option("--alertmanager-url", help="Read this Alertmanager instead of the stack's.")] = None,
        json: JsonOpt = False, project: ProjectOpt = None, config: ConfigOpt = None,
    ) -> None:
        """The alerts as Prometheus (pending/firing) and Alertmanager (active/suppressed) see them now."""
        from stackctl.verify.alerts import current_alerts

        urls: dict[str, str] = {}
        if not (prometheus_url and alertmanager_url):
            from stackctl.stack.orchestrator import service_urls
            from stackctl.state.record import NotRunningError

            try:
                urls = service_urls(config_from(config, project=project))  # the running stack's, from its record
            except NotRunningError:
                if not (prometheus_url or alertmanager_url):
                    raise
        rows = current_alerts(prometheus_url or urls.get("prometheus"), alertmanager_url or urls.get("alertmanager"))
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


