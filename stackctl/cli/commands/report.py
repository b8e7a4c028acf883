from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, ProjectOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        out: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
        png: Annotated[Optional[Path], typer.Option("--png", help="Also write one PNG per panel into this folder.")] = None,
        dashboards: Annotated[Optional[List[Path]], typer.Option("--dashboards", help="Also draw the dashboards in this folder (or file); repeatable.")] = None,
        scenario: Annotated[Optional[str], typer.Option("--scenario", help="Draw this scenario's packs and check its expected alerts (default: the one the seeder recorded).")] = None,
        all_packs: Annotated[bool, typer.Option("--all", help="Every loaded pack, not only the seeded scenario's.")] = False,
        prometheus_url: Annotated[Optional[str], typer.Option("--prometheus-url", help="Query this Prometheus instead of the stack's.")] = None,
        loki_url: Annotated[Optional[str], typer.Option("--loki-url", help="Query LogQL panels on this Loki.")] = None,
        project: ProjectOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """Every panel verify checks, drawn from the live stack into one self-contained HTML file."""
        from stackctl.report.build import build_report, write_report  # matplotlib: only for this command
        from stackctl.verify.run import VerifyOptions

        cfg = config_from(config, project=project)
        opts = VerifyOptions(tuple(dashboards or ()), scenario, prometheus_url, loki_url, all_packs=all_packs)
        started = time.monotonic()
        with console.status("querying every panel"):
            result = build_report(cfg, opts)
        with console.status("drawing the panels"):
            written = write_report(result, out, png)
        counts: dict[str, int] = {}
        for v in result.verdicts:
            counts[v.status] = counts.get(v.status, 0) + 1
        tally = ", ".join(f"{n} {s}" for s, n in counts.items())
        console.info(f"{len(result.panels)} panels of {len(result.dashboards)} dashboard(s): {tally or 'none'} (Loki: {result.loki})")
        if written.pngs:
            console.info(f"{len(written.pngs)} PNGs in {png}")
        console.success(f"wrote {written.html} in {time.monotonic() - started:.1f}s")
        console.plain_out(str(written.html))
