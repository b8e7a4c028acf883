"""Every error stackctl raises on purpose shares one base, so the CLI has one error boundary.

A message says what failed and where; the hint says what to try. The CLI prints both and
exits non-zero without a traceback. Anything that is not a StackctlError is a bug and keeps
its traceback.
"""

from __future__ import annotations

import errno


class StackctlError(Exception):
    """Base of every expected failure. ``exit_code`` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message


class ConfigError(StackctlError):
    """Bad configuration: a file, a field, an environment variable or a flag."""

    exit_code = 2


class UsageError(StackctlError):
    """A bad name or combination on the command line (unknown service, scenario...)."""

    exit_code = 2


class EngineError(StackctlError):
    """The container engine or compose is missing or unreachable."""


class PortInUseError(StackctlError):
    """A host port the stack needs is already taken."""


class ServiceUnhealthyError(StackctlError):
    """A service never became ready within the timeout, or exited."""


class BinaryNotFoundError(StackctlError):
    """A native runtime binary is missing."""


class ProcessError(StackctlError):
    """A subprocess failed; carries argv, exit code and output."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        argv: list[str] | None = None,
        returncode: int | None = None,
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.argv = argv or []
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class LockedError(StackctlError):
    """Another stackctl holds this project's lock."""


class StateError(StackctlError):
    """The state dir is unwritable, full or damaged."""


class ScenarioError(StackctlError):
    """A scenario file is invalid or unknown."""

    exit_code = 2


class SeedError(StackctlError):
    """Seeding failed against a sink."""


class VerifyError(StackctlError):
    """Verification could not run (not: verification found problems)."""


class InstallError(StackctlError):
    """Downloading or unpacking a release archive failed."""

def disk_hint(exc: OSError) -> str:
    """What to try for an OSError met while writing the state dir."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full: free some space (docker system prune, old state dirs) and retry"
    if exc.errno == errno.EDQUOT:
        return "your disk quota is used up: free some space and retry"
    if exc.errno == errno.EFBIG:
        return "a file-size limit stopped the write (ulimit -f): raise it and retry"
    if exc.errno == errno.EROFS:
        return "that file system is read-only: point STACKCTL_STATE_DIR (or state_dir in stackctl.yaml) at a writable folder"
    return "check that the state dir is writable, or set STACKCTL_STATE_DIR (or state_dir in stackctl.yaml) to a writable folder"
