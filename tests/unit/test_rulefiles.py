"""Rules as they are published: wrapped in a ConfigMap beside other resources, a `kind: List`,
Helm values of kube-prometheus-stack and of the prometheus chart. Each loads as its groups, in
`rules:` (checked by the real promtool) and in synthesis; a plain file stays as it is."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stackctl.render.rulefiles import rule_groups, unwrapped
from stackctl.seeding.synth.collect import collect

WRAPPED = Path(__file__).resolve().parents[1] / "fixtures" / "rules-wrapped"
CASES = {
    "configmap-and-servicemonitor.yaml": ({"AppDown"}, "ConfigMap prometheus-rules: data.alert.rules", "ServiceMonitor app"),
    "kube-prometheus-stack-values.yaml": ({"AppHighErrorRate", "job:http_requests:rate5m"}, "additionalPrometheusRulesMap.app-rules", None),
    "prometheus-chart-values.yaml": ({"NodeLoadHigh"}, "serverFiles.alerting_rules.yml", None),
    "list-of-prometheusrules.yaml": ({"OneDown", "TwoDown"}, "PrometheusRule two", None),
}


def _names(groups: list[dict[str, object]]) -> set[str]:
    return {str(r.get("alert") or r.get("record")) for g in groups for r in g["rules"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrapped_rules_unwrap_to_their_groups(name: str, tmp_path: Path) -> None:
    names, wrapper, ignored = CASES[name]
    path = WRAPPED / name
    found = rule_groups(list(yaml.safe_load_all(path.read_text())))
    assert _names(found.groups) == names and wrapper in found.wrappers
    assert (ignored in found.ignored) if ignored else True
    plain = unwrapped(path)
    assert plain is not None and _names(yaml.safe_load(plain)["groups"]) == names
    assert collect([path]).files == [str(path)]  # synthesis reads the same groups
    assert {r.name for r in collect([path]).rules} == names
    promtool = shutil.which("promtool")
    if promtool:  # the unwrapped file is what Prometheus loads: the real promtool accepts it
        (tmp_path / "rules.yml").write_bytes(plain)
        checked = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_plain_rule_file_loads_as_it_is_and_a_file_without_rules_is_left_to_promtool(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yml"
    plain.write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n")
    assert unwrapped(plain) is None and rule_groups([yaml.safe_load(plain.read_text())]).plain
    other = tmp_path / "deployment.yaml"
    other.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\n")
    assert unwrapped(other) is None  # no rules: promtool says what is wrong with it
    assert rule_groups([yaml.safe_load(other.read_text())]).ignored == ["Deployment app"]
