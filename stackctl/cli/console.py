"""The only module that imports rich. Human text goes to stderr, machine output to stdout."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

_err = Console(stderr=True, highlight=False, soft_wrap=True)
_out = Console(highlight=False, soft_wrap=True)

STATE_STYLES = {
    "healthy": "green",
    "up": "green",
    "down": "red",
    "populated": "green",
    "ok": "green",
    "firing": "red",
    "unhealthy": "red",
    "error": "red",
    "failed": "red",
    "empty": "yellow",
    "pending": "yellow",
    "starting": "yellow",
    "skipped": "dim",
    "stopped": "dim",
    "absent": "dim",
}


def styled_state(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


def info(message: str) -> None:
    _err.print(message)


def success(message: str) -> None:
    _err.print(Text(message, style="green"))


def warn(message: str) -> None:
    _err.print(Text("warning: ", style="yellow bold") + Text(message))


def error(message: str, hint: str | None = None) -> None:
    _err.print(Text("error: ", style="red bold") + Text(message))
    if hint:
        _err.print(Text("hint: ", style="cyan bold") + Text(hint))


def json_out(obj: Any) -> None:
    """Machine-readable output: plain JSON on stdout, never styled."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def plain_out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None, state_column: str | None = None) -> None:
    t = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        t.add_column(col)
    state_idx = list(columns).index(state_column) if state_column is not None and state_column in columns else -1
    for row in rows:
        cells: list[Any] = []
        for i, cell in enumerate(row):
            text = "" if cell is None else str(cell)
            cells.append(styled_state(text) if i == state_idx else text)
        t.add_row(*cells)
    _err.print(t)


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner on stderr while something slow runs (silent when stderr is not a tty)."""
    with _err.status(message):
        yield


class LiveTable:
    """A live-updating table on stderr: ``update(rows)`` redraws it."""

    def __init__(self, columns: Sequence[str], state_column: str | None = None) -> None:
        self.columns = list(columns)
        self.state_column = state_column
        self._live = Live(self._render([]), console=_err, refresh_per_second=8, transient=False)

    def _render(self, rows: Sequence[Sequence[Any]]) -> Table:
        t = Table(header_style="bold")
        for col in self.columns:
            t.add_column(col)
        idx = self.columns.index(self.state_column) if self.state_column in self.columns else -1
        for row in rows:
            t.add_row(*[styled_state(str(c)) if i == idx else str(c) for i, c in enumerate(row)])
        return t

    def update(self, rows: Sequence[Sequence[Any]]) -> None:
        self._live.update(self._render(rows))

    def __enter__(self) -> "LiveTable":
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)
