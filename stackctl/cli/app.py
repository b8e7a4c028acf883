"""The Typer root. Every command lives in ``stackctl/cli/commands/<name>.py`` and exposes
``register(app)``; this module discovers them, so adding a command touches one file.

The error boundary is here: a StackctlError prints its message and hint and exits with its
exit code, never a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys

import typer

from stackctl import __version__
from stackctl.cli import console
from stackctl.errors import StackctlError

app = typer.Typer(
    name="stackctl",
    help="A real local observability stack (Prometheus, Grafana, Alertmanager, Loki, Redis, Pushgateway) in one command.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        console.plain_out(f"stackctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", envvar="STACKCTL_DEBUG", help="Log every subprocess and HTTP probe to stderr."),
) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _register_commands() -> None:
    from stackctl.cli import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"stackctl.cli.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def main() -> None:
    """Entry point: run the app inside the error boundary."""
    try:
        code = app(standalone_mode=False)  # returns the code of a typer.Exit raised inside a command
    except StackctlError as exc:
        console.error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.error("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        console.error("aborted")
        sys.exit(1)
    except Exception as exc:
        # Usage errors (no such option, missing argument, bad value) arrive here outside
        # standalone mode. Recent typer vendors its own click, so match the shape (show() and
        # exit_code), not click.ClickException.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise
    if code == 130:  # typer turns KeyboardInterrupt (Ctrl-C; SIGTERM during `up`) into Exit(130)
        console.error("interrupted")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__" and os.environ.get("STACKCTL_NO_MAIN") is None:
    main()
