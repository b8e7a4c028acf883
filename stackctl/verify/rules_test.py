"""``stackctl test-rules``: the shipped ``promtool test rules`` suites.

promtool on PATH runs them directly. Without it, when Docker answers, the configured
Prometheus image runs them (``docker run --rm --entrypoint /bin/promtool``) with the shipped
``prometheus/`` folder mounted read-only: the suites name their rule files relative to
themselves (``../rules/x.yml``), so the folder is mounted whole.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from stackctl.assets import asset_path
from stackctl.config import Config
from stackctl.errors import ProcessError, VerifyError
from stackctl import proc
from stackctl.install.obtain import which_tool

TIMEOUT = 300.0
MOUNT = "/stackctl-prometheus"


@dataclass(frozen=True)
class RuleTestRun:
    ok: bool
    how: str  # "promtool" | "docker <image>"
    argv: tuple[str, ...]
    suites: tuple[str, ...]
    output: str


def suites(tests_dir: Path | None = None) -> list[Path]:
    root = tests_dir or asset_path("prometheus", "tests")
    found = sorted(root.glob("*.test.yml"))
    if not found:
        raise VerifyError(f"no promtool test suites (*.test.yml) in {root}")
    return found


def _docker_usable() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        proc.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=20)
    except ProcessError:
        return False
    return True


def command(cfg: Config, files: list[Path], promtool: str | None) -> tuple[list[str], str, Path]:
    """argv, a description, and the working directory to run it in."""
    root = files[0].parent.parent  # prometheus/
    rel = [f.relative_to(root).as_posix() for f in files]
    if promtool:
        return [promtool, "test", "rules", *[str(f) for f in files]], "promtool", root
    if _docker_usable():
        image = cfg.images["prometheus"]
        argv = proc.Command(["docker", "run", "--rm", "--entrypoint", "/bin/promtool"])
        argv.add_simple_arg("-v", f"{root}:{MOUNT}:ro").add_simple_arg("-w", MOUNT)
        return [*argv, image, "test", "rules", *rel], f"docker {image}", root
    raise VerifyError(
        "cannot run promtool: it is not on PATH and no Docker engine answers",
        hint="install it (apt-get install prometheus, or `stackctl install prometheus`), or start Docker to use the Prometheus image",
    )


def run_rule_tests(cfg: Config, tests_dir: Path | None = None, *, force_docker: bool = False) -> RuleTestRun:
    """``force_docker`` skips a promtool on PATH (to test the container path)."""
    files = suites(tests_dir)
    argv, how, cwd = command(cfg, files, None if force_docker else which_tool("promtool"))
    result = proc.run(argv, timeout=TIMEOUT, check=False, cwd=cwd)
    output = (result.stdout + result.stderr).strip()
    return RuleTestRun(result.returncode == 0, how, tuple(argv), tuple(f.name for f in files), output)
