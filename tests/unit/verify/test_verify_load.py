"""Which dashboards verify checks: each once however given, a broken file reported, not fatal."""

from __future__ import annotations

import json
from pathlib import Path

from stackctl.config import load_config
from stackctl.verify.results import CheckResult
from stackctl.verify.run import dashboard_files, load_dashboards


def _dash(uid: str | None, title: str) -> str:
    return json.dumps({"uid": uid, "title": title, "panels": [{"type": "timeseries", "title": "p", "targets": [{"refId": "A", "expr": "up"}]}]})


def test_each_dashboard_once_and_broken_files_reported(tmp_path: Path) -> None:
    cfg = load_config(env={"STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path, flags={"packs": []})
    mine, copy = tmp_path / "mine", tmp_path / "copy"
    mine.mkdir(), copy.mkdir()
    (mine / "a.json").write_text(_dash("a", "A"))
    (copy / "a-again.json").write_text(_dash("a", "A (copied)"))  # same uid: the same dashboard
    (mine / "b.json").write_text(_dash(None, "B"))
    (copy / "b.json").write_text(_dash(None, "B"))  # no uid: same title and queries
    (mine / "broken.json").write_text('{\n  "panels": [\n    oops\n]}')
    unreadable: list[CheckResult] = []
    got = load_dashboards(cfg, (mine, copy, mine / "a.json"), 0.0, None, unreadable)
    assert sorted(d.title for d in got if d.path and d.path.parent in (mine, copy)) == ["A", "B"]
    (bad,) = unreadable
    assert bad.kind == "dashboard" and bad.status == "error" and "broken.json:3:5" in bad.detail


def test_a_rendered_tree_without_packs_is_not_replaced_by_the_shipped_one(tmp_path: Path) -> None:
    rendered, shipped = tmp_path / "rendered" / "grafana" / "dashboards", tmp_path / "shipped"
    (shipped / "p").mkdir(parents=True)
    (shipped / "p" / "x.json").write_text("{}")
    assert dashboard_files(rendered, shipped) == [(shipped / "p" / "x.json").resolve()]  # never rendered
    (rendered.parent / "provisioning").mkdir(parents=True)  # rendered with no pack loaded
    assert dashboard_files(rendered, shipped) == []
