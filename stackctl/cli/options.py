"""Options shared by several commands, declared once (typer ``Annotated`` style)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from stackctl.config import Config

ConfigOpt = Annotated[Optional[str], typer.Option("--config", "-c", help="Path to stackctl.yaml (default: ./stackctl.yaml if present).", envvar="STACKCTL_CONFIG", show_envvar=True)]
RuntimeOpt = Annotated[Optional[str], typer.Option("--runtime", help="docker, native or auto (docker when an engine answers).", show_default=False)]
ServicesOpt = Annotated[Optional[str], typer.Option("--services", help="Comma-separated services, e.g. prometheus,alertmanager.")]
ProjectOpt = Annotated[Optional[str], typer.Option("--project", "-p", help="Project name; two projects run side by side.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def config_from(config: str | None, **flags: object) -> Config:
    from stackctl.config import load_config  # lazily: `stackctl --version` never loads pydantic

    return load_config(config, flags={k: v for k, v in flags.items() if v is not None})


def running_config(config: str | None, *, explicit_url: bool = False, **flags: object) -> Config:
    """The config of the project's *running* stack (ports, services, runtime from its record);
    a project that is not running is an error that says so -- unless the user gave the server's
    URL (``explicit_url``), which needs no stack."""
    from stackctl.stack.orchestrator import attached
    from stackctl.state.record import NotRunningError

    cfg = config_from(config, **flags)
    try:
        return attached(cfg)
    except NotRunningError:
        if explicit_url:
            return cfg
        raise
