from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, running_config

if TYPE_CHECKING:
    from stackctl.verify.run import VerifyReport

DashboardsOpt = Annotated[Optional[List[Path]], typer.Option("--dashboards", help="Also check the dashboards in this folder (or file); repeatable.")]


def _show(result: VerifyReport) -> None:
    from stackctl.verify import report as rep

    rows = [(r.dashboard, r.panel, r.status, r.query if r.failed else "", r.detail)
            for r in result.results if r.kind == "panel" or r.status != "ok"]
    console.table(["dashboard / check", "panel / name", "status", "query", "detail"], rows, state_column="status")
    counts = rep.summary(result.results)
    console.plain_out(", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" (Loki: {result.loki})")  # part of the report


def _fail_message(result: VerifyReport) -> str:
    lines = [f"{len(result.failed)} check(s) failed:"]
    for r in result.failed:
        lines.append(f"  {r.status}: {r.dashboard} / {r.panel}" + (f": {r.query}" if r.query else "") + f" ({r.detail})")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("verify")
    def verify(
        json: JsonOpt = False,
        junit: Annotated[Optional[Path], typer.Option("--junit", help="Write a JUnit XML report to this file.")] = None,
        dashboards: DashboardsOpt = None,
        scenario: Annotated[Optional[str], typer.Option("--scenario", help="Check this seeded scenario's expected alerts (default: the one the seeder recorded).")] = None,
        prometheus_url: Annotated[Optional[str], typer.Option("--prometheus-url", help="Verify this Prometheus instead of the stack's.")] = None,
        loki_url: Annotated[Optional[str], typer.Option("--loki-url", help="Check LogQL panels against this Loki.")] = None,
        all_packs: Annotated[bool, typer.Option("--all", help="Check every loaded pack, not only the seeded scenario's.")] = False,
        project: ProjectOpt = None,
        config: ConfigOpt = None,
    ) -> None:
        """Every panel populated, every rule healthy, every metric present, expected alerts active."""
        from stackctl.verify import ChecksFailed
        from stackctl.verify import report as rep
        from stackctl.verify.run import VerifyOptions, verify_stack

        # The running stack's URLs (from its record); an explicit --prometheus-url needs no stack.
        cfg = running_config(config, explicit_url=bool(prometheus_url), project=project)
        opts = VerifyOptions(tuple(dashboards or ()), scenario, prometheus_url, loki_url, all_packs=all_packs)
        with console.status("verifying the stack"):
            result = verify_stack(cfg, opts)
        if result.packs:
            console.info(f"checking the packs of scenario {result.scenario}: {', '.join(result.packs)} (--all for every pack)")
        if junit:
            rep.write_junit(result.results, junit)
        if json:
            console.json_out(rep.as_json(result.results, dashboards=result.dashboards, scenario=result.scenario, packs=result.packs,
                                         prometheus=result.prometheus_url, loki=result.loki))
        else:
            _show(result)
        if result.failed:
            raise ChecksFailed(_fail_message(result), "seed what they read (stackctl seed --from your dashboards and rules, or a "
                               "catalog scenario: stackctl seed --scenario all-healthy), or fix what is named above")
        console.success("every check passed")
