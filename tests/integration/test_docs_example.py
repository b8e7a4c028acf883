"""The pytest-plugin guide's complete example runs as written (docs that match the code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_pytest_plugin import run_user_pytest

from helpers import REPO, STANDIN_IMAGES, require_binaries, require_docker

pytestmark = pytest.mark.native


@pytest.mark.parametrize("runtime", ["native", pytest.param("docker", marks=pytest.mark.docker)])
def test_guide_example_passes(tmp_path: Path, runtime: str) -> None:
    if runtime == "docker":
        require_docker()
    require_binaries("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")
    guide = (REPO / "docs" / "pytest-plugin.md").read_text()
    code = re.search(r"```python\n(# test_myapp.py\n.*?)```", guide, re.S)
    assert code, "the guide's example is missing"
    (tmp_path / "test_myapp.py").write_text(code.group(1))
    images = {f"STACKCTL_IMAGE_{s.upper().replace('-', '_')}": i for s, i in STANDIN_IMAGES.items()}
    result = run_user_pytest(tmp_path, "--stackctl-runtime", runtime, "--stackctl-services",
                             "prometheus,alertmanager,pushgateway,redis", extra_env=images)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "1 passed" in result.stdout
