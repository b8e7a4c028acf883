"""The package, its tests, the benchmarks and the dashboard generator stay mypy-clean (the
style's "types everywhere" as a check, not a hope)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from helpers import REPO


def test_mypy_clean() -> None:
    if shutil.which("mypy") is None and subprocess.run([sys.executable, "-m", "mypy", "--version"], capture_output=True).returncode != 0:
        pytest.skip("mypy not installed (pip install -e '.[test]')")
    paths = ["stackctl", "tests", "benchmarks", "grafana/generate.py"]
    result = subprocess.run([sys.executable, "-m", "mypy", *paths], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:]
