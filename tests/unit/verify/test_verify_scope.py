from __future__ import annotations

from pathlib import Path

from stackctl.verify.run import groups_of, _in_packs


def test_dashboards_scoped_to_the_scenarios_packs() -> None:
    root = Path("/state/rendered/grafana/dashboards")
    assert _in_packs(root / "preview" / "preview.json", ("preview",))
    assert not _in_packs(root / "luneo" / "luneo.json", ("preview",))
    assert _in_packs(root / "user-team" / "mine.json", ("preview",)), "user dashboards are always checked"
    assert _in_packs(root / "luneo" / "luneo.json", None)


def test_rule_groups_scoped_but_user_groups_kept() -> None:
    groups = [{"name": "preview"}, {"name": "luneo"}, {"name": "my-app"}]
    assert [g["name"] for g in groups_of(groups, ("preview",))] == ["preview", "my-app"]
    assert groups_of(groups, None) == groups
