from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, config_from

if TYPE_CHECKING:
    from stackctl.verify.alerts import Delivery


def _rows(deliveries: list[Delivery]) -> list[tuple[str, ...]]:
    return [(d.route, d.matchers, d.labels.get("severity", ""), ", ".join(d.expected), ", ".join(d.reached), d.status, d.detail)
            for d in deliveries]


def register(app: typer.Typer) -> None:
    @app.command("fire-alerts")
    def fire_alerts(
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the synthetic alerts only; send nothing.")] = False,
        alertmanager_url: Annotated[Optional[str], typer.Option("--alertmanager-url", help="Post to this Alertmanager instead of the stack's.")] = None,
        json: JsonOpt = False,
        project: ProjectOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """Post one synthetic alert per Alertmanager route and show which receiver each reached."""
        from stackctl.stack.orchestrator import service_urls
        from stackctl.state.record import NotRunningError
        from stackctl.verify import ChecksFailed, routes
        from stackctl.verify.alerts import fire_alerts as fire
        from stackctl.verify.alerts import wait_budget

        cfg = config_from(config, project=project)
        tree = routes.load_route_config(routes.config_path(cfg.state_dir))
        try:
            urls = service_urls(cfg)  # the running stack's, from its record
        except NotRunningError:
            if alertmanager_url is None and not dry_run:
                raise
            urls = {}
        url = alertmanager_url or urls.get("alertmanager", "")
        if dry_run:
            deliveries = fire(url, tree, True)
        else:
            with console.status(f"waiting up to {wait_budget(tree.tree):.0f}s for the notification sink"):
                deliveries = fire(url, tree, False, sink_url=urls.get("notify-sink"))
        if json:
            console.json_out([d.__dict__ for d in deliveries])
        else:
            if dry_run:
                console.info(f"routes from {tree.source}; nothing sent (--dry-run). Payloads for POST {url}/api/v2/alerts:")
                console.json_out([d.payload for d in deliveries if d.status != "unreachable"])
            console.table(["route", "matchers", "severity", "expected", "reached", "status", "detail"], _rows(deliveries), state_column="status")
        if any(d.status in ("missing", "unreachable") for d in deliveries) and not dry_run:
            raise ChecksFailed("some synthetic alerts did not reach their receiver (see the table above)",
                               "see `stackctl notifications` and `stackctl logs alertmanager`")
