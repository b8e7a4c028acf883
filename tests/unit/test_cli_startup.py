"""A fast CLI start: importing the CLI (what `stackctl --version` and `status` pay) pulls in
neither numpy nor redis nor the seeding engine."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "redis", "stackctl.seeding", "stackctl.verify", "requests", "rich")


def _imported(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}


def test_importing_the_cli_loads_no_heavy_module() -> None:
    found = _imported("import stackctl.cli.app")
    heavy = sorted(m for m in found if m.split(".")[0] in ("numpy", "redis", "requests", "rich") or m.startswith(HEAVY[2:4]))
    assert not heavy, f"`import stackctl.cli.app` imports {heavy}"


def test_status_of_an_absent_project_needs_no_seeding_engine(tmp_path: object) -> None:
    code = ("import sys\nfrom stackctl.stack import orchestrator\nfrom stackctl.config import load_config\n"
            f"orchestrator.status(load_config(env={{'HOME': {str(tmp_path)!r}}}, flags={{'project': 'absent'}}))\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('numpy', 'redis') or m.startswith('stackctl.seeding')]\n"
            "assert not bad, bad\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
