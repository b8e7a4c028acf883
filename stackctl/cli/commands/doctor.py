"""``stackctl doctor``: which servers each runtime has here, where from, and how `up` gets the rest."""

from __future__ import annotations

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, JsonOpt, ProjectOpt, config_from
from stackctl.stack import doctor as core


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(json: JsonOpt = False, project: ProjectOpt = None, config: ConfigOpt = None) -> None:
        """Per runtime: the servers present, where from, which version, how each missing one is obtained."""
        cfg = config_from(config, project=project)
        report = core.report(cfg)
        if json:
            console.json_out(report.public())
            return
        # Plain lines, not a table: paths and image names must never be cut short.
        console.plain_out(f"native runtime (binary cache {report.cache_dir}):\n" + _lines(report.native))
        console.plain_out(f"docker runtime ({report.docker_engine}):\n" + _lines(report.docker))
        for problem in report.broken:
            console.warn(f"unusable install in the cache: {problem} (`stackctl install --remove NAME`)")


def _lines(rows: list[core.ServerRow]) -> str:
    return "\n".join(
        f"  {r.service:<13} {'ok' if r.present else 'absent':<7} {r.source:<15} {r.version or '-':<12} {r.where if r.present else r.how}"
        for r in rows
    )
