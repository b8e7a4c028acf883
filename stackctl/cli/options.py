"""Options shared by several commands, declared once (typer ``Annotated`` style)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from stackctl.config import Config, load_config

ConfigOpt = Annotated[Optional[str], typer.Option("--config", "-c", help="Path to stackctl.yaml (default: ./stackctl.yaml if present).", envvar="STACKCTL_CONFIG", show_envvar=True)]
RuntimeOpt = Annotated[Optional[str], typer.Option("--runtime", help="docker, native or auto (docker when an engine answers).", show_default=False)]
ServicesOpt = Annotated[Optional[str], typer.Option("--services", help="Comma-separated services, e.g. prometheus,alertmanager.")]
ProjectOpt = Annotated[Optional[str], typer.Option("--project", "-p", help="Project name; two projects run side by side.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def config_from(config: str | None, **flags: object) -> Config:
    return load_config(config, flags={k: v for k, v in flags.items() if v is not None})
