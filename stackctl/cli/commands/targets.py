from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, RuntimeOpt, running_config

if TYPE_CHECKING:
    from stackctl.byo.targets import TargetInfo


def _ago(target: TargetInfo) -> str:
    return "never" if target.last_scrape_age is None else f"{target.last_scrape_age:.0f}s ago"


def register(app: typer.Typer) -> None:
    @app.command("targets")
    def targets(json: JsonOpt = False, runtime: RuntimeOpt = None, project: ProjectOpt = None, config: ConfigOpt = None) -> None:
        """Every target Prometheus scrapes: health, last scrape, last error (why is my panel empty?)."""
        from stackctl.byo.targets import fetch_targets

        cfg = running_config(config, runtime=runtime, project=project)
        found = fetch_targets(cfg)
        if json:
            console.json_out([t.public() for t in found])
            return
        rows = [(t.job + (" (yours)" if t.user else ""), t.scrape_url, t.health, _ago(t), t.last_error) for t in found]
        console.table(["job", "scrape url", "health", "last scrape", "last error"], rows, state_column="health")
        for t in found:
            if t.hint:
                console.warn(f"{t.job} ({t.scrape_url}) is {t.health}: {t.last_error or 'no scrape yet'}\n  hint: {t.hint}")
        if not cfg.scrape and cfg.prometheus_config is None:
            console.info("no targets of yours: add `scrape:` to stackctl.yaml (or run `stackctl init --scrape localhost:PORT`)")
