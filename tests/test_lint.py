"""ruff, configured in pyproject.toml ([tool.ruff]), finds nothing: the lint is a check, not a hope."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import REPO

PATHS = ("stackctl", "tests", "benchmarks", "grafana/generate.py")


def test_ruff_clean() -> None:
    if subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode != 0:
        pytest.skip("ruff not installed (pip install -e '.[test]')")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *PATHS], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
