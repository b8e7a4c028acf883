from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from stackctl.cli import console

ScrapeOpt = Annotated[Optional[List[str]], typer.Option("--scrape", help="Your app's metrics endpoint as HOST:PORT, e.g. localhost:8000 (repeatable).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing stackctl.yaml.")]
DirOpt = Annotated[Optional[Path], typer.Option("--dir", help="The repo folder to write stackctl.yaml into (default: the current folder).")]


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(scrape: ScrapeOpt = None, force: ForceOpt = False, dir: DirOpt = None) -> None:
        """Write a commented stackctl.yaml here, with your app's endpoint and the dashboards and rules this repo has."""
        from stackctl.byo.init import init_config

        result = init_config(dir or Path.cwd(), scrape or [], force=force)
        found = result.detected
        for guess in found.scrape:
            console.info(f"scrape {guess.target} as job {guess.job}: {guess.probe}")
        for kind, items in (("dashboards", found.dashboards), ("rules", found.rules)):
            console.info(f"{kind}: {', '.join(items) if items else 'none found'}")
        if found.prometheus:
            console.info(f"your prometheus.yml: {found.prometheus} (its jobs and rule_files are used)")
        console.success(f"wrote {result.path}")
        console.info("next: review it, then `stackctl up`; `stackctl targets` shows what Prometheus scrapes")
