from __future__ import annotations

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, ProjectOpt, config_from


def register(app: typer.Typer) -> None:
    @app.command("test-rules")
    def test_rules(project: ProjectOpt = None, config: ConfigOpt = None) -> None:
        """Run the shipped `promtool test rules` suites (promtool on PATH, or the Prometheus image)."""
        from stackctl.verify import ChecksFailed
        from stackctl.verify.rules_test import run_rule_tests

        cfg = config_from(config, project=project)
        with console.status("running promtool test rules"):
            run = run_rule_tests(cfg)
        console.plain_out(run.output)
        if not run.ok:
            raise ChecksFailed(f"promtool test rules failed ({run.how})", "the failing suite and alert are named above")
        console.success(f"{len(run.suites)} rule test suites passed ({run.how})")
