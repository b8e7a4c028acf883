"""Output conventions: tables on stdout (grep-able on a pipe), names never truncated, numbers
rounded for people, errors on their own line on stderr, no empty progress frame."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from rich.console import Console

from stackctl.cli import console

LONG = "PreviewGenerationHighFailureRateCritical"


def test_numbers_are_rounded_to_four_significant_digits() -> None:
    assert console.human_number(0.26989619377162627) == "0.2699"
    assert console.human_number(2.6989619377162627e-05) == "2.699e-05"
    assert console.human_number(1234.5678) == "1235"
    assert console.human_number(1733040000.123) == "1733040000"  # integer digits are kept
    assert console.human_number(2.5) == "2.5" and console.human_number(0) == "0"
    assert console.humanize("value 2.6989619377162627e-01 > 0.05") == "value 0.2699 > 0.05"
    assert console.humanize("127.0.0.1:9090 v2.42.0") == "127.0.0.1:9090 v2.42.0"


def test_a_table_on_a_narrow_terminal_keeps_every_name_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    monkeypatch.setitem(console._consoles, "out", Console(file=buf, width=100, highlight=False))
    console.table(["source", "alert", "state", "value / receivers", "labels"],
                  [("prometheus", LONG, "firing", 0.26989619377162627, "pack=preview, instance=localhost:9090, job=a-long-job-name")],
                  state_column="state")
    text = buf.getvalue()
    assert LONG in text and "…" not in text
    assert "0.2699" in text and "0.26989" not in text


def test_table_goes_to_stdout_at_natural_width_on_a_pipe() -> None:
    code = ("from stackctl.cli import console\n"
            f"console.table(['service', 'detail'], [('prometheus', 'x' * 150), ('{LONG}', 'y')])\n"
            "console.error('it broke', 'try again')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    rows = [line for line in out.stdout.splitlines() if "prometheus" in line]
    assert len(rows) == 1 and "x" * 150 in rows[0], out.stdout  # one line per row: grep finds it whole
    assert LONG in out.stdout
    assert out.stderr.splitlines()[0] == "error: it broke", "an error starts its own line, on stderr"
    assert "error" not in out.stdout


def test_no_empty_progress_frame(capsys: pytest.CaptureFixture[str]) -> None:
    with console.LiveTable(["service", "state"], state_column="state") as live:
        live.update([])
    assert capsys.readouterr().err == ""
    with console.LiveTable(["service", "state"], state_column="state") as live:
        live.update([("prometheus", "starting")])
        live.update([("prometheus", "starting")])
        live.update([("prometheus", "healthy")])
    assert capsys.readouterr().err.splitlines() == ["prometheus  starting", "prometheus  healthy"]


def test_scenarios_on_an_80_column_terminal_keep_every_name_whole() -> None:
    import os
    import pty

    from stackctl.seeding.catalog import list_scenarios

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "50", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "stackctl", "scenarios"], stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    text = b"".join(chunks).decode(errors="replace")
    assert "┃" in text, "drawn as a table on a terminal"
    for name in list_scenarios():
        assert name in text, f"scenario name {name} cut at 80 columns"


def test_messages_round_numbers_too(capsys: pytest.CaptureFixture[str]) -> None:
    console.error("alert X: value 0.26989619377162627 above 0.25", "expected below 2.6989619377162627e-01")
    err = capsys.readouterr().err
    assert "0.2699 above 0.25" in err and "0.269896" not in err
