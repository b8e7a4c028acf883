"""`stackctl export kubernetes` output checked by the real tools, the way the cluster will read it.

The CLI runs in a subprocess (as a user runs it) for every pack and for a user repo with rules,
dashboards, routes, receivers and scrape targets. Then: each PrometheusRule's groups, extracted,
pass `promtool check rules`; so does each additionalPrometheusRulesMap entry; the Alertmanager
config the chart will load (the overlay merged over the chart's defaults, as Helm merges)
passes `amtool check-config`; the scrape jobs pass `promtool check config`; and no secret set in
the environment or written inline appears in any file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.export.chart import CHART_ALERTMANAGER_DEFAULTS, helm_merge
from tests.export_repo import SENTINELS, leaked, make_user_repo
from tests.helpers import require_binaries, stackctl

pytestmark = pytest.mark.native


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"


def _export(tmp: Path, config: Path | None) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_")}
    env.update({"HOME": str(tmp), "STACKCTL_STATE_DIR": str(tmp / "state"), **SENTINELS})
    out = tmp / "k8s"
    args = ["export", "kubernetes", "--release", "obs", "--namespace", "monitoring", "-o", str(out)]
    if config:
        args += ["--config", str(config)]
    result = stackctl(*args, env=env, timeout=120, cwd=config.parent if config else tmp)
    assert result.returncode == 0, result.stderr
    assert (out / "README.md").is_file()
    return out


@pytest.fixture(scope="module", params=["packs", "user-repo"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_binaries("promtool", "amtool")
    tmp = tmp_path_factory.mktemp(request.param)
    config = make_user_repo(tmp / "repo") if request.param == "user-repo" else None
    return _export(tmp, config)


def _values(out: Path) -> dict[str, Any]:
    return yaml.safe_load((out / "values.yaml").read_text())


def test_prometheusrule_groups_pass_promtool(exported: Path, tmp_path: Path) -> None:
    crds = sorted((exported / "prometheusrules").glob("*.yaml"))
    assert crds
    for crd_path in crds:
        crd = yaml.safe_load(crd_path.read_text())
        rules = tmp_path / f"{crd_path.stem}.rules.yml"
        rules.write_text(yaml.safe_dump({"groups": crd["spec"]["groups"]}, sort_keys=False))
        _run(["promtool", "check", "rules", str(rules)])


def test_values_rule_groups_pass_promtool(exported: Path, tmp_path: Path) -> None:
    for key, entry in _values(exported)["additionalPrometheusRulesMap"].items():
        rules = tmp_path / f"values-{key}.yml"
        rules.write_text(yaml.safe_dump({"groups": entry["groups"]}, sort_keys=False))
        _run(["promtool", "check", "rules", str(rules)])


def test_alertmanager_config_as_helm_merges_it_passes_amtool(exported: Path, tmp_path: Path) -> None:
    effective = helm_merge(CHART_ALERTMANAGER_DEFAULTS, _values(exported)["alertmanager"]["config"])
    path = tmp_path / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(effective, sort_keys=False))
    _run(["amtool", "check-config", str(path)])


def test_scrape_jobs_pass_promtool_check_config(exported: Path, tmp_path: Path) -> None:
    jobs = _values(exported)["prometheus"]["prometheusSpec"].get("additionalScrapeConfigs", [])
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump({"scrape_configs": jobs}, sort_keys=False))
    _run(["promtool", "check", "config", "--syntax-only", str(path)])


def test_no_secret_anywhere(exported: Path) -> None:
    assert leaked(exported) == []


def test_cli_refuses_a_bad_release_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_")}
    env.update({"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")})
    result = stackctl("export", "kubernetes", "--release", "Obs_1", "-o", str(tmp_path / "out"), env=env, cwd=tmp_path)
    assert result.returncode == 2 and "not a valid Helm release name" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
