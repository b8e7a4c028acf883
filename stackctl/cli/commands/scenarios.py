from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

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

    @scenarios_app.command("generate", context_settings={"allow_extra_args": True})
    def generate(ctx: typer.Context,
                 from_: Annotated[Optional[List[Path]], typer.Option("--from", metavar="PATH", help="Dashboards (JSON), rule files (YAML) or folders of them; more paths may follow.")] = None,
                 alert: Annotated[Optional[str], typer.Option("--alert", help="The alert the traffic fires; every other alert stays quiet.")] = None,
                 state: Annotated[Optional[str], typer.Option("--state", help="firing or quiet (default: quiet, or firing with --alert).")] = None,
                 output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the scenario here (default: stdout).")] = None,
                 json: JsonOpt = False) -> None:
        """Write a scenario that feeds what the given dashboards and rules query (stackctl seed --scenario FILE runs it)."""
        from stackctl.errors import UsageError
        from stackctl.seeding.synth.pipeline import generate as synthesize

        paths = list(from_ or []) + [Path(a) for a in ctx.args]
        if not paths:
            raise UsageError("--from is required", hint="stackctl scenarios generate --from dashboards/ rules.yaml -o my.yaml")
        wanted = state or ("firing" if alert else "quiet")
        if wanted not in ("firing", "quiet"):
            raise UsageError(f"--state {state}: use firing or quiet")
        generated = synthesize(paths, wanted, alert)  # type: ignore[arg-type]
        summary = generated.summary
        if output is not None:
            output.write_text(generated.text)
            console.success(f"wrote {output}: {summary['metrics']} metrics, {summary['series']} series; "
                            f"seed it with `stackctl seed --scenario {output}`")
        elif not json:
            console.plain_out(generated.text)
        if json:
            console.json_out({**summary, "output": str(output) if output else None})
        for name, outcome in summary["alerts"].items():  # type: ignore[attr-defined]
            if outcome != "ok":
                console.warn(f"alert {name}: {outcome}")

    app.add_typer(scenarios_app, name="scenarios")
