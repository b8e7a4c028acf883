"""test-rules: which command runs the suites."""

from __future__ import annotations

from pathlib import Path

from stackctl.config import load_config
from stackctl.verify import rules_test


def test_promtool_on_path_runs_every_suite(tmp_path: Path) -> None:
    cfg = load_config(env={"HOME": str(tmp_path)}, cwd=tmp_path)
    files = rules_test.suites()
    argv, how, cwd = rules_test.command(cfg, files, "/usr/bin/promtool")
    assert how == "promtool" and argv[:3] == ["/usr/bin/promtool", "test", "rules"]
    assert [Path(a).name for a in argv[3:]] == [f.name for f in files] and cwd == files[0].parent.parent
