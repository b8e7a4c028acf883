"""The only module that imports rich, and the one place that decides where output goes.

Conventions (as with gh, kubectl, docker):

- What the user asked for -- tables, lists, reports, ``--json`` -- goes to **stdout**, so
  ``stackctl status | grep prometheus`` and ``| less`` work. On a pipe, tables are drawn at
  their natural width (never wrapped at 80 columns).
- Progress, warnings, hints and errors go to **stderr**; a progress frame is drawn only on a
  terminal and only once there is something in it.
- Names a user may type or search for (alerts, scenarios, services, dashboards, panels) are
  never truncated: ``name_columns`` keep their full width, the other columns fold.
- Numbers are rounded for people (4 significant digits, integer digits kept); ``--json``
  keeps full precision.
- An error never shares a line with a table: stdout is flushed, and a line started on the
  terminal is ended, before anything goes to stderr.

rich is imported lazily: `stackctl --version` and commands that print little stay fast.
"""

from __future__ import annotations

import json
import math
import re
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Sequence

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

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
    "missing": "red",
    "unreachable": "red",
    "empty": "yellow",
    "pending": "yellow",
    "starting": "yellow",
    "skipped": "dim",
    "stopped": "dim",
    "absent": "dim",
}
# Column headers that hold names a user types or searches for: never truncated.
NAME_COLUMNS = {"alert", "scenario", "service", "dashboard", "panel", "dashboard / check", "panel / name", "name",
                "job", "receiver", "route", "setting", "figure"}

# Columns that list such names: wrapped between the names, never inside one.
LIST_COLUMNS = {"packs", "expected alerts", "alerts", "dashboards", "expected", "reached", "services"}
PIPE_WIDTH = 100_000  # a table on a pipe is drawn at its natural width: one line per row for grep

_consoles: dict[str, Console] = {}


def _console(stream: str) -> Console:
    if stream not in _consoles:
        from rich.console import Console

        err = stream == "err"
        tty = (sys.stderr if err else sys.stdout).isatty()
        _consoles[stream] = Console(stderr=err, highlight=False, soft_wrap=True, width=None if tty else PIPE_WIDTH)
    return _consoles[stream]


def _err_tty() -> bool:
    return sys.stderr.isatty()


def _to_err(text: str | Text) -> None:
    sys.stdout.flush()  # an error never lands inside (or glued to) the table above it
    if isinstance(text, str):
        text = humanize(text)  # messages are for people too
    if isinstance(text, str) and not _err_tty():
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
        return
    _console("err").print(text)


# -- numbers for people ---------------------------------------------------------------------

_FLOATISH = re.compile(r"(?<![\w.])-?(?:\d+\.\d{5,}(?:[eE][-+]?\d+)?|\d+(?:\.\d+)?[eE][-+]?\d+)(?![\w.])")


def human_number(value: float) -> str:
    """4 significant digits, the integer digits always kept: 0.26989619 -> 0.2699,
    1234.5678 -> 1235, 2.6989619377162627e-05 -> 2.699e-05."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -4:
        return f"{value:.4g}"
    decimals = max(0, 3 - magnitude)
    text = f"{round(value, decimals):.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def humanize(text: str) -> str:
    """Every long float written in ``text`` rounded for people."""
    return _FLOATISH.sub(lambda m: human_number(float(m.group(0))), text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return human_number(value)
    return humanize(str(value))


# -- plain messages (stderr) ------------------------------------------------------------------

def styled_state(state: str) -> Text:
    from rich.text import Text

    return Text(state, style=STATE_STYLES.get(state, ""))


def info(message: str) -> None:
    _to_err(message)


def success(message: str) -> None:
    message = humanize(message)
    if not _err_tty():
        _to_err(message)
        return
    from rich.text import Text

    _to_err(Text(message, style="green"))


def warn(message: str) -> None:
    message = humanize(message)
    if not _err_tty():
        _to_err(f"warning: {message}")
        return
    from rich.text import Text

    _to_err(Text("warning: ", style="yellow bold") + Text(message))


def error(message: str, hint: str | None = None) -> None:
    message, hint = humanize(message), humanize(hint) if hint else hint
    if not _err_tty():
        _to_err(f"error: {message}" + (f"\nhint: {hint}" if hint else ""))
        return
    from rich.text import Text

    _to_err(Text("error: ", style="red bold") + Text(message))
    if hint:
        _to_err(Text("hint: ", style="cyan bold") + Text(hint))


# -- primary output (stdout) ------------------------------------------------------------------

def json_out(obj: Any) -> None:
    """Machine-readable output: plain JSON on stdout, never styled, full precision."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def plain_out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def _build_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None, state_column: str | None) -> Any:
    from rich.table import Table

    cells = [[_cell(c) for c in row] for row in rows]
    t = Table(title=title, show_lines=False, header_style="bold")
    for i, col in enumerate(columns):
        if col in NAME_COLUMNS:
            longest = max((max(len(line) for line in r[i].splitlines() or [""]) for r in cells), default=0)
            t.add_column(col, no_wrap=True, min_width=max(longest, len(col)))
        elif col in LIST_COLUMNS:
            longest = max((len(word) for r in cells for word in r[i].replace(",", " ").split()), default=0)
            t.add_column(col, overflow="fold", min_width=max(longest + 1, len(col)))
        else:
            t.add_column(col, overflow="fold", min_width=min(len(col), 10))
    state_idx = list(columns).index(state_column) if state_column is not None and state_column in columns else -1
    for row in cells:
        t.add_row(*[styled_state(text) if i == state_idx else text for i, text in enumerate(row)])
    return t


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None, state_column: str | None = None) -> None:
    """A table on stdout: on a terminal drawn by rich (full names, other columns folded); on a
    pipe plain aligned columns, one line per row, as `docker ps` prints them (grep, awk, cut)."""
    sys.stderr.flush()
    if not sys.stdout.isatty() and "out" not in _consoles:
        plain_out(plain_table(columns, rows, title))
        return
    _console("out").print(_build_table(columns, rows, title, state_column))
    sys.stdout.flush()


def plain_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> str:
    """Whitespace-aligned columns; an empty cell is ``-`` and a multi-line one is joined with
    ``; `` so every row stays one line and every column one field per word."""
    cells = [[_cell(c).replace("\n", "; ") or "-" for c in row] for row in rows]
    widths = [max([len(col), *(len(r[i]) for r in cells)]) for i, col in enumerate(columns)]
    lines = [title] if title else []
    for row in [list(columns), *cells]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner on stderr while something slow runs (nothing at all when stderr is not a tty)."""
    if not _err_tty():
        yield
        return
    with _console("err").status(message):
        yield


class LiveTable:
    """Progress rows on stderr: a live frame on a terminal (drawn from the first row on, removed
    when done), one line per state change otherwise. Never an empty frame."""

    def __init__(self, columns: Sequence[str], state_column: str | None = None) -> None:
        self.columns = list(columns)
        self.state_column = state_column
        self._live: Any = None
        self._seen: dict[str, str] = {}

    def update(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if not _err_tty():
            for row in rows:
                name, state = str(row[0]), str(row[self._state_index()]) if self._state_index() >= 0 else ""
                if self._seen.get(name) != state:
                    self._seen[name] = state
                    _to_err("  ".join(_cell(c) for c in row))
            return
        frame = _build_table(self.columns, rows, None, self.state_column)
        if self._live is None:
            from rich.live import Live

            sys.stdout.flush()
            self._live = Live(frame, console=_console("err"), refresh_per_second=8, transient=True)
            self._live.start()
        else:
            self._live.update(frame)

    def _state_index(self) -> int:
        return self.columns.index(self.state_column) if self.state_column in self.columns else -1

    def __enter__(self) -> LiveTable:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
