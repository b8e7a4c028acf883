"""The rendered Prometheus configuration checked with ``promtool check config`` before it is
written, its errors traced back to the user's prometheus.yml (``prometheus.config``).

The same approach as :mod:`.alertmanager_check`, with its helpers: the rendered text is checked
in a private temporary folder (so a rejected config never replaces the last good one), and each
``line N`` of promtool's message, or the job name it quotes, is mapped to the place of the
user's file it came from. Rule files are left to ``promtool check rules`` (byo.rules_check),
which names them better; files the docker runtime copies in are staged beside the config, so
promtool sees the paths the running Prometheus will read.

promtool comes from the Prometheus image on the docker runtime (as amtool does), else from PATH
(Debian's prometheus package); without any the check is skipped with a warning, and Prometheus
itself would refuse a bad file at start.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stackctl.config import Config
from stackctl.errors import ConfigError, ProcessError
from stackctl.proc import Command, run
from stackctl.render.alertmanager_check import explanation, paths_by_line, paths_with_value
from stackctl.render.prometheus_user import CONTAINER_DIR, Merged
from stackctl.yamlfile import parse_yaml

_LINE_RE = re.compile(r"\bline (\d+):")
_QUOTED_RE = re.compile(r'"([^"]+)"')
_FRAME_RE = re.compile(r"^parsing YAML file (the rendered prometheus\.yml|\S+?):\s*")
_REGEX_RE = re.compile(r"`\^\(\?:(.*)\)\$`")  # how Prometheus quotes a relabel regex it cannot compile


_DOCKER_OWN_FAILURES = (125, 126, 127)  # `docker run` failed, or the image has no promtool


@dataclass(frozen=True)
class _Checker:
    """One way to run ``promtool check config``: the image's (docker) or the host's."""

    image: str | None
    host: str | None

    def argv(self, root: Path, config: Path) -> list[str]:
        if self.image is None:
            return [str(self.host), "check", "config", str(config)]
        # The staged folder at the same path inside, so promtool names the same files; as the
        # user owning the 0600 copy; no network, never a pull: the image is the one `up` runs.
        cmd = Command(["docker", "run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "promtool"])
        cmd.add_simple_arg("--user", f"{os.getuid()}:{os.getgid()}")
        cmd.add_simple_arg("-v", f"{root}:{root}:ro")
        return [*cmd, self.image, "check", "config", str(config)]


def check_prometheus(cfg: Config, runtime: str, files: dict[str, bytes | Path], merged: Merged, *,
                     promtool: str | None = None, timeout: float = 60) -> list[str]:
    """Warnings when promtool accepts the rendered prometheus.yml (or when no promtool could run);
    raises ConfigError naming the user's file and line when it rejects it.

    promtool comes from the image Prometheus will run (docker: same version, same verdict: a
    Prometheus 3 field is not refused by an older host promtool), else from PATH. A discovery
    mechanism the Prometheus that will run lacks (Debian's build leaves some out, e.g. consul) is
    not the user's mistake: it is left out of ``files`` with a warning. When only the host's
    promtool could judge a docker config, such a mechanism is left to the image at start.
    """
    host = promtool or shutil.which("promtool")
    image = cfg.images.get("prometheus") if runtime == "docker" and promtool is None and shutil.which("docker") else None
    checkers = [_Checker(image, None)] if image else []
    checkers += [_Checker(None, host)] if host else []
    if not checkers:
        return ["Prometheus config not validated: promtool is not on PATH (apt-get install prometheus); "
                "a config Prometheus rejects will stop it from starting"]
    content = files["prometheus/prometheus.yml"]
    data = yaml.safe_load(content.read_bytes() if isinstance(content, Path) else content) or {}
    notes: list[str] = []
    attempts = 0
    while checkers and attempts < 3:
        checker = checkers[0]
        verdict = _promtool(checker, data, merged, timeout)
        if isinstance(verdict, str):
            return notes + [verdict]
        code, staged, output = verdict
        if checker.image and code in _DOCKER_OWN_FAILURES:
            checkers.pop(0)  # no verdict on the config: ask the host's promtool
            continue
        if code == 0:
            return notes
        missing = _unsupported_discovery(output)
        if not missing:
            raise rejected(cfg, staged, output, merged)
        runs_it = runtime == "native" or checker.image is not None  # the Prometheus that will run said so
        notes += _strip_discovery(data, missing, merged, native=runs_it)
        if runs_it:
            files["prometheus/prometheus.yml"] = _redump(content, data)
        attempts += 1
    if not checkers:
        return notes + ["Prometheus config not validated: neither the image's nor a host promtool could run"]
    raise rejected(cfg, staged, output, merged)


def _promtool(checker: _Checker, data: dict[str, Any], merged: Merged, timeout: float) -> tuple[int, str, str] | str:
    with tempfile.TemporaryDirectory(prefix="stackctl-promcheck-") as tmp:
        root = Path(tmp)
        # rule files are checked by `promtool check rules`, each named as the user wrote it
        checked = {**data, "rule_files": []}
        staged = _staged(_relocate(checked, f"{CONTAINER_DIR}/", f"{root}/prometheus/"), root, merged)
        config = root / "prometheus" / "prometheus.yml"
        config.write_text(staged, encoding="utf-8")
        config.chmod(0o600)  # an inline password stays private
        try:
            result = run(checker.argv(root, config), timeout=timeout, check=False)
        except ProcessError as exc:
            return f"Prometheus config not validated: {exc.message}"
        return result.returncode, staged, _unstaged(result.stdout + "\n" + result.stderr, root, merged)


_UNKNOWN_SD_RE = re.compile(r"field (\w+_sd_configs) not found in type config\.ScrapeConfig")


def _unsupported_discovery(output: str) -> set[str]:
    """The *_sd_configs promtool does not know, when they are its only complaint."""
    reasons = [r for r in (_FRAME_RE.sub("", x) for x in explanation(output)) if r and not r.endswith(":")]
    found = [_UNKNOWN_SD_RE.search(r) for r in reasons]
    return {m.group(1) for m in found if m} if reasons and all(found) else set()


def _strip_discovery(data: dict[str, Any], missing: set[str], merged: Merged, *, native: bool) -> list[str]:
    """Remove ``missing`` from every job (a job left with no targets stays: Prometheus accepts it,
    and the job names keep matching ``merged`` for later messages)."""
    notes = []
    by_job = {str(j.get("job_name")): origin for j, origin in zip(merged.jobs, merged.origins)}
    for job in data.get("scrape_configs") or []:
        gone = sorted(k for k in missing if k in job)
        if not gone:
            continue
        for key in gone:
            del job[key]
        origin = by_job.get(str(job.get("job_name")))
        where = origin.where(gone[0]) if origin else "stackctl's prometheus.yml"
        if native:
            notes.append(f"{where}: job {job['job_name']!r}: {', '.join(gone)} left out: this Prometheus build does not support it")
        else:
            notes.append(f"{where}: job {job['job_name']!r}: {', '.join(gone)} not validated: the host's promtool does "
                         "not support it (the Prometheus image judges it at start)")
    return notes


def _redump(content: bytes | Path, data: dict[str, Any]) -> bytes:
    text = content.read_bytes() if isinstance(content, Path) else content
    header = text.split(b"\n", 1)[0] + b"\n" if text.startswith(b"#") else b""
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False).encode()


def _staged(data: dict[str, Any], root: Path, merged: Merged) -> str:
    (root / "prometheus").mkdir(mode=0o700)
    for rel, source in merged.files.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def _relocate(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {k: _relocate(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_relocate(v, old, new) for v in node]
    return new + node[len(old):] if isinstance(node, str) and node.startswith(old) else node


def _unstaged(output: str, root: Path, merged: Merged) -> str:
    """promtool names the staged copies: name the user's files instead."""
    for rel, source in sorted(merged.files.items(), key=lambda kv: -len(kv[0])):
        output = output.replace(str(root / rel), str(source))
    return output.replace(str(root / "prometheus" / "prometheus.yml"), "the rendered prometheus.yml")


def _job_offset(cfg: Config, data: Any, merged: Merged) -> int:
    jobs = data.get("scrape_configs") if isinstance(data, dict) else None
    return len(jobs or []) - len(merged.jobs) - len(cfg.scrape)


def _where(cfg: Config, merged: Merged, path: tuple[Any, ...], offset: int) -> str:
    user = merged.user
    if len(path) >= 2 and path[0] == "scrape_configs" and isinstance(path[1], int):
        i = path[1] - offset
        if 0 <= i < len(merged.origins):
            return merged.origins[i].where(*path[2:])
        if i >= len(merged.origins):
            return str(cfg.config_file or "stackctl.yaml")
    if user is not None and path[:1] == ("global",) and len(path) >= 2 and path[1] in (user.data.get("global") or {}):
        return user.where(*path)
    if user is not None and path[:1] in (("storage",), ("runtime",), ("otlp",)):
        return user.where(*path)
    return "stackctl's prometheus.yml"


def rejected(cfg: Config, rendered: str, output: str, merged: Merged) -> ConfigError:
    doc = parse_yaml(rendered, "rendered prometheus.yml")
    by_line = paths_by_line(doc)
    offset = _job_offset(cfg, doc.data, merged)
    by_job = {str(j.get("job_name")): origin for j, origin in zip(merged.jobs, merged.origins)}
    fallback = str(cfg.prometheus_config)
    problems: list[str] = []
    for raw in explanation(output):
        reason = _FRAME_RE.sub("", raw)
        if not reason:
            continue
        line = _LINE_RE.search(reason)
        if line and int(line.group(1)) in by_line:
            problems.append(f"{_where(cfg, merged, by_line[int(line.group(1))], offset)}: {_LINE_RE.sub('', reason, count=1).strip()}")
            continue
        if reason.endswith(":"):  # a heading such as "yaml: unmarshal errors:"
            problems.append(reason)
            continue
        quoted = _QUOTED_RE.findall(reason) + _REGEX_RE.findall(reason)
        places = [by_job[q].where("job_name") for q in quoted if q in by_job]
        places += [_where(cfg, merged, p, offset) for p in paths_with_value(doc.data, quoted)]
        problems.append(f"{', '.join(dict.fromkeys(places)) or fallback}: {reason}")
    return ConfigError(
        "Prometheus would reject its configuration (promtool check config):\n  " + "\n  ".join(problems or [output.strip()]),
        hint="fix the file and line named above and run `stackctl up` again; nothing was started, and a running "
             "Prometheus keeps its last good configuration",
    )
