"""``stackctl packs``: list the built-in monitoring packs."""

from __future__ import annotations

from typing import Annotated

import typer

from stackctl.cli import console


def register(app: typer.Typer) -> None:
    @app.command("packs")
    def packs(
        as_json: Annotated[bool, typer.Option("--json", help="Print the packs as JSON on stdout.")] = False,
    ) -> None:
        """List the built-in packs (rules, alerts and dashboards for the seeds' applications)."""
        from stackctl.packs import PACKS, pack_summary

        rows = [pack_summary(pack) for pack in PACKS]
        if as_json:
            console.json_out(rows)
            return
        console.table(
            ["name", "title", "seed", "alerts", "dashboards"],
            [[r["name"], r["title"], r["seed"], r["alerts"], len(r["dashboards"])] for r in rows],
        )
