"""Validate the user's rule files with promtool before anything starts.

A rule file Prometheus cannot parse makes it refuse to start (or refuse a reload), and the
reason lands in its log, far from the user. ``promtool check rules`` gives the same verdict up
front, with the file, line and column, so ``stackctl up`` can fail before starting anything.

promtool comes from PATH (the native runtime needs it anyway); without it, the configured
Prometheus image carries one, run with ``docker run --rm``. With neither, the check is skipped
and the caller gets a warning to show.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from stackctl.config import Config
from stackctl.errors import ConfigError, ProcessError
from stackctl.install.obtain import which_tool
from stackctl.proc import Command, run
from stackctl.render.rulefiles import unwrapped

RULE_SUFFIXES = (".yml", ".yaml")
CONTAINER_DIR = "/rules"
# `docker run` itself failed (125), or the image has no promtool (126/127): not a verdict on the rules
_DOCKER_OWN_FAILURES = (125, 126, 127)
_LINE_RE = re.compile(r"line (\d+):")


@dataclass(frozen=True)
class _Checker:
    """How to run promtool: the argv prefix and how host paths appear inside it."""

    argv: list[str]
    names: dict[Path, str]  # host path -> the name promtool sees


def expand_rule_paths(paths: Iterable[Path]) -> list[Path]:
    """Files and folders from ``rules:`` as the files Prometheus will load (same walk as render)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in RULE_SUFFIXES)
        else:
            out.append(path)
    return out


def check_rule_files(paths: Sequence[Path], *, promtool: str | None = None, image: str | None = None, timeout: float = 60) -> str | None:
    """Run ``promtool check rules`` over ``paths`` (files or folders).

    Returns None when the files were checked (or there were none), or a warning when no
    promtool could be found. Raises ConfigError naming each rejected file with promtool's
    message (which carries line and column).
    """
    files = expand_rule_paths(paths)
    if not files:
        return None
    with tempfile.TemporaryDirectory(prefix="stackctl-rules-") as tmp:
        # PrometheusRule resources are checked as rendered: their spec.groups
        staged = {f: _stage(f, Path(tmp) / f"{i}-{f.name}") for i, f in enumerate(files)}
        return _check(files, staged, promtool, image, timeout)


def _stage(path: Path, to: Path) -> Path:
    plain = unwrapped(path)
    if plain is None:
        return path
    to.write_bytes(plain)
    return to


def _check(files: list[Path], staged: dict[Path, Path], promtool: str | None, image: str | None,
           timeout: float) -> str | None:
    checker = _local_checker(staged, promtool) or (_docker_checker(staged, image) if image else None)
    if checker is None:
        return (f"rule files not validated: promtool is not on PATH{' and docker is not installed' if image else ''}; "
                "a broken rule file will stop Prometheus from starting (install promtool, e.g. apt-get install prometheus)")
    argv = [*checker.argv, "check", "rules", *(checker.names[f] for f in files)]
    try:
        result = run(argv, timeout=timeout, check=False)
    except ProcessError as exc:
        return f"rule files not validated: {exc.message}"
    if image and checker.argv[0] == "docker" and result.returncode in _DOCKER_OWN_FAILURES:
        first = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[0]
        return f"rule files not validated: `docker run` of promtool in {image} failed ({first})"
    if result.returncode != 0:
        output = result.stdout + "\n" + result.stderr
        if _NEWER_RE.search(output):
            if image and checker.argv[0] != "docker":
                # The promtool on PATH is older than the image Prometheus will run: its verdict counts.
                newer = _docker_checker(staged, image)
                again = _run_quietly([*newer.argv, "check", "rules", *(newer.names[f] for f in files)], timeout) if newer else None
                if again is not None and again.returncode == 0:
                    return None
                if again is not None and again.returncode not in _DOCKER_OWN_FAILURES:
                    raise _rejected(files, newer.names if newer else checker.names, again.stdout + "\n" + again.stderr)
            fix = "set `images: {prometheus: ...}` to a newer one" if checker.argv[0] == "docker" else "use the docker runtime"
            output = _NEWER_RE.sub(lambda m: f"{m.group(0)} (`{m.group(1)}` needs Prometheus {NEWER_RULE_KEYS[m.group(1)]}; "
                                              f"{_version(checker)} is older: {fix}, or leave the key out)", output)
        raise _rejected(files, checker.names, output)
    return None


# Rule-file keys of newer Prometheus versions that an older promtool refuses (Debian bookworm: 2.42).
NEWER_RULE_KEYS = {"query_offset": "2.53 or later", "labels": "3 or later (rule group labels)"}
_NEWER_RE = re.compile(r"field (query_offset|labels) not found in type rulefmt\.RuleGroup\b")


def _run_quietly(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
    try:
        return run(argv, timeout=timeout, check=False)
    except ProcessError:
        return None


def _version(checker: _Checker) -> str:
    if checker.argv[0] == "docker":
        return f"the promtool of {checker.argv[-1]}"
    found = _run_quietly([checker.argv[0], "--version"], 10)
    version = re.search(r"version (\S+)", (found.stdout + found.stderr) if found else "")
    return f"promtool {version.group(1)} (on PATH, as the native runtime's Prometheus)" if version else "the promtool on PATH"


def check_config_rules(cfg: Config, runtime: str) -> str | None:
    """The preflight ``stack.up`` runs: the user's ``rules:`` checked before anything starts.

    On the docker runtime, the Prometheus image's own promtool is the fallback.
    """
    image = cfg.images.get("prometheus") if runtime == "docker" else None
    return check_rule_files(cfg.rules, image=image)


def _local_checker(staged: dict[Path, Path], promtool: str | None) -> _Checker | None:
    found = promtool or which_tool("promtool")
    if not found:
        return None
    return _Checker([found], {f: str(s) for f, s in staged.items()})


def _docker_checker(staged: dict[Path, Path], image: str) -> _Checker | None:
    if shutil.which("docker") is None:
        return None
    # Each file is mounted on its own (read-only, no network): rule files may live in
    # different folders, and nothing else of the user's disk needs to be visible. Never
    # pull: the image is the one `up` already requires locally.
    cmd = Command(["docker", "run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "promtool"])
    names: dict[Path, str] = {}
    for index, (path, source) in enumerate(staged.items()):
        inside = f"{CONTAINER_DIR}/{index}-{path.name}"
        names[path] = inside
        cmd.add_simple_arg("-v", f"{source.resolve()}:{inside}:ro")
    cmd.append(image)
    return _Checker(list(cmd), names)


def _rejected(files: list[Path], names: dict[Path, str], output: str) -> ConfigError:
    """One error naming every rejected file with promtool's whole explanation, mapped to host paths.

    promtool prints ``<file>: <problem>`` and, for YAML errors, the reason on the indented
    lines after it (``  line 1: field apiVersion not found in type rulefmt.RuleGroups``):
    those lines belong to the file above them and become ``<host file>:1: ...``.
    """
    by_name = {names[f]: f for f in files}
    problems: list[str] = []
    bad: list[str] = []
    current: Path | None = None
    for raw in output.splitlines():
        line = raw.strip()
        if not line or line.startswith("Checking ") or line in ("FAILED:", "SUCCESS"):
            current = None if line.startswith("Checking ") else current
            continue
        owner = next((n for n in sorted(by_name, key=len, reverse=True) if line.startswith(f"{n}:")), None)
        if owner is not None:
            current = by_name[owner]
            text = f"{current}{line[len(owner):]}"
            if str(current) not in bad:
                bad.append(str(current))
        elif current is not None and raw[:1].isspace():
            found = _LINE_RE.match(line)
            text = f"{current}:{found.group(1)}:{line[found.end():]}" if found else f"{current}: {line}"
        else:
            continue
        if text not in problems:  # promtool repeats some YAML errors
            problems.append(text)
    if not problems:
        problems = [line for line in output.splitlines() if line.strip()][-5:]
    return ConfigError(
        f"promtool rejected rule file {', '.join(bad) or 'in rules:'}:\n  " + "\n  ".join(problems),
        hint="fix the rule file at the line named and retry; `promtool check rules <file>` checks it alone",
    )
