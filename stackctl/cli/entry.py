"""The console script's first code: a Ctrl-C while the CLI is still importing ends cleanly.

The import of the command modules takes a moment; a KeyboardInterrupt raised there would
otherwise escape as a traceback before the error boundary in app.main exists.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from stackctl.cli.app import main as app_main
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    app_main()
