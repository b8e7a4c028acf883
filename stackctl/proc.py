"""The one subprocess door: every external command stackctl runs goes through ``run``.

argv lists only (never shell strings), a timeout always, a debug log of the command line,
and failures raised as ProcessError carrying argv, exit code, stdout and stderr.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Collection, Iterator, Mapping, Sequence

from stackctl.errors import ProcessError, StateError
from stackctl.errors import disk_hint

log = logging.getLogger("stackctl.proc")


class Command(list[str]):
    """An argv under construction: ``Command(["docker", "compose"]).add_flag("--wait", True)``."""

    def add_flag(self, name: str, value: bool) -> "Command":
        if value:
            self.append(name)
        return self

    def add_simple_arg(self, name: str, value: object | None) -> "Command":
        if value is not None:
            self.extend([name, str(value)])
        return self


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input_text: str | None = None,
    shielded: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion and capture its output.

    ``shielded``: run it in its own session, so a Ctrl-C in the terminal (sent to the whole
    foreground process group) cannot cut a cleanup step such as `docker compose rm` in half.

    ``env`` is merged over the current environment. A missing executable, a timeout or (with
    ``check``) a non-zero exit raises ProcessError.
    """
    argv = [str(a) for a in argv]
    log.debug("run: %s", shlex.join(argv))
    full_env = {**os.environ, **env} if env else None
    try:
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            cwd=cwd,
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            start_new_session=shielded,
        )
    except FileNotFoundError:
        raise ProcessError(f"command not found: {argv[0]}", argv=argv) from None
    except subprocess.TimeoutExpired as exc:
        raise ProcessError(
            f"`{shlex.join(argv)}` did not finish within {timeout:.0f}s",
            argv=argv,
            stdout=_text(exc.stdout),
            stderr=_text(exc.stderr),
        ) from None
    if check and result.returncode != 0:
        raise ProcessError(
            f"`{shlex.join(argv)}` exited with {result.returncode}: {last_lines(result.stderr or result.stdout, 5)}",
            argv=argv,
            returncode=result.returncode,
            stdout=result.stdout,
            stderr=result.stderr,
        )
    return result


def spawn_detached(argv: Sequence[str], *, log_file: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None,
                   unset: Collection[str] = ()) -> subprocess.Popen[bytes]:
    """Start a long-running process in its own session (own process group), output to ``log_file``.

    Its own session means Ctrl-C in the user's terminal does not reach it; stackctl stops it
    explicitly by pid. ``unset`` names variables of stackctl's environment the child must not
    inherit (secrets it reads from files instead).
    """
    argv = [str(a) for a in argv]
    log.debug("spawn: %s > %s", shlex.join(argv), log_file)
    full_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset} if env or unset else None
    try:
        out = open(log_file, "ab")
    except OSError as exc:
        raise StateError(f"cannot open the log file {log_file}: {exc.strerror}", hint=disk_hint(exc)) from None
    with out:
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=full_env,
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
            )
        except FileNotFoundError:
            raise ProcessError(f"command not found: {argv[0]}", argv=argv) from None
        except PermissionError:
            raise ProcessError(f"permission denied running {argv[0]}", hint=f"chmod +x {argv[0]}", argv=argv) from None


_deferring = False


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back until the block is done, then raise KeyboardInterrupt.

    For the few steps that must not be cut in half: a process spawned but not yet recorded
    would be an orphan nobody stops; one stopped but still recorded is harmless but noisy.
    Only the main thread can swap handlers; elsewhere the block runs as it is.
    """
    global _deferring
    if threading.current_thread() is not threading.main_thread() or _deferring:
        yield  # nested: the outermost block holds the signals and raises once at its end
        return
    caught: list[int] = []

    def hold(signum: int, frame: object) -> None:
        caught.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    _deferring = True
    try:
        yield
    finally:
        _deferring = False
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        log.debug("re-raising signal %s held during a critical step", caught[0])
        raise KeyboardInterrupt


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def last_lines(text: str, n: int) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-n:])


def stream_lines(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> "Iterator[str]":
    """Yield a long-running command's output lines (e.g. `logs --follow`); stops it on exit."""
    argv = [str(a) for a in argv]
    log.debug("stream: %s", shlex.join(argv))
    full_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=full_env)
    except FileNotFoundError:
        raise ProcessError(f"command not found: {argv[0]}", argv=argv) from None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            yield line.rstrip("\n")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
