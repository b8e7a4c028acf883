from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stackctl.cli import console
from stackctl.cli.options import ConfigOpt, config_from
from stackctl.export.kubernetes import ExportOptions, export_kubernetes

ReleaseOpt = Annotated[str, typer.Option("--release", "-r", help="The Helm release name of kube-prometheus-stack (its rules must carry release: NAME).")]
NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n", help="The namespace the chart is installed in.")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="Directory to write (new, empty, or a previous export).")]
LokiOpt = Annotated[str | None, typer.Option("--loki-url", help="Loki's URL in the cluster: adds the Loki datasource the logs panels use.")]


def register(app: typer.Typer) -> None:
    export = typer.Typer(help="Export the stack's rules, routes, targets and dashboards for production.", no_args_is_help=True)

    @export.command("kubernetes")
    def kubernetes(release: ReleaseOpt, namespace: NamespaceOpt = "monitoring", output: OutOpt = Path("kubernetes"),
                   loki_url: LokiOpt = None, config: ConfigOpt = None) -> None:
        """Helm values, PrometheusRules and dashboard ConfigMaps for kube-prometheus-stack (no secrets)."""
        cfg = config_from(config)
        result, written = export_kubernetes(cfg, ExportOptions(release, namespace, loki_url), output)
        for path in written:
            console.plain_out(str(path))
        console.success(f"{len(result.rules)} rule files, {len(result.dashboards)} dashboards, {len(result.scrape)} scrape jobs "
                        f"exported to {output}; next: {output / 'README.md'}")
        if result.secret.keys:
            console.warn(f"create the Secret {result.secret.name} in {namespace} first (keys: {', '.join(result.secret.keys)}): see the README")
        for note in result.notes:
            console.warn(note)

    app.add_typer(export, name="export")
