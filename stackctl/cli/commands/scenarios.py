from __future__ import annotations

from typing import Annotated

import typer

from stackctl.cli import console
from stackctl.cli.options import JsonOpt


def register(app: typer.Typer) -> None:
    scenarios_app = typer.Typer(help="The seeding scenarios: what each one simulates and which alerts it raises.",
                                invoke_without_command=True, no_args_is_help=False)

    @scenarios_app.callback()
    def scenarios(ctx: typer.Context, json: JsonOpt = False) -> None:
        """List scenarios with a one-line description and expected alerts."""
        if ctx.invoked_subcommand:
            return
        from stackctl.seeding.catalog import list_scenarios, load_scenario, scenario_summary

        rows = [scenario_summary(load_scenario(name)) for name in list_scenarios()]
        if json:
            console.json_out(rows)
            return
        console.table(["scenario", "packs", "description", "expected alerts"],
                      [(r["name"], ", ".join(r["packs"]), r["description"], "\n".join(r["expected_alerts"]) or "none")  # type: ignore[arg-type]
                       for r in rows])

    @scenarios_app.command("show")
    def show(name: Annotated[str, typer.Argument(help="Scenario name (see `stackctl scenarios`).")], json: JsonOpt = False) -> None:
        """Explain one scenario: phases, metrics, logs, Redis streams, expected alerts."""
        from stackctl.seeding.catalog import load_scenario, scenario_details

        details = scenario_details(load_scenario(name))
        if json:
            console.json_out(details)
            return
        for key, value in details.items():
            if isinstance(value, list):
                console.plain_out(f"{key}:" + ("" if value else " none"))
                for item in value:
                    console.plain_out(f"  - {item}")
            else:
                console.plain_out(f"{key}: {value}")

    app.add_typer(scenarios_app, name="scenarios")
