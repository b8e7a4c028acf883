"""Public Alertmanager configs given as `alertmanager: {config: FILE}` (h33's evaluation):
their routing is kept, their receivers deliver to the local sink only, and what Alertmanager
refuses is refused at the user's file and line. Fixtures: tests/fixtures/synth/classes/h33-*."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from stackctl.config import Config, load_config
from stackctl.errors import ConfigError
from stackctl.render.configs import build_files, render
from stackctl.verify import routes as rt
from stackctl.verify.alerts import plan

CLASSES = Path(__file__).resolve().parents[1] / "fixtures" / "synth" / "classes"
needs_amtool = pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed here (apt-get install prometheus-alertmanager)")


def _config(tmp_path: Path, config_file: Path) -> Config:
    (tmp_path / "stackctl.yaml").write_text(f"alertmanager:\n  config: {config_file}\n")
    return load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)


def _rendered(cfg: Config, runtime: str) -> dict:
    text = build_files(cfg, runtime)["alertmanager/alertmanager.yml"]
    assert isinstance(text, bytes)
    return yaml.safe_load(text)


def test_receivers_deliver_to_the_local_sink_and_routing_is_kept(tmp_path: Path) -> None:
    """dockprom's config: six Opsgenie receivers (and an inline API key) would be called for real."""
    source = CLASSES / "h33-external-receivers" / "alertmanager.yml"
    cfg = _config(tmp_path, source)
    doc = _rendered(cfg, "docker")
    written = yaml.safe_load(source.read_text())
    assert doc["route"] == written["route"]  # the user's tree, untouched
    assert [r["name"] for r in doc["receivers"]] == [r["name"] for r in written["receivers"]]
    for receiver in doc["receivers"]:
        assert set(receiver) == {"name", "webhook_configs"}, receiver
        assert receiver["webhook_configs"] == [{"url": "http://notify-sink:9097/cgi-bin/notify", "send_resolved": True}]
    assert "opsgenie_api_key" not in str(doc) and "api.opsgenie.com" not in str(doc)
    native = _rendered(cfg, "native")
    assert all(r["webhook_configs"][0]["url"].startswith("http://127.0.0.1:") for r in native["receivers"])
    # the Kubernetes export deploys the user's real receivers
    assert _rendered(cfg, "kubernetes")["receivers"][0]["opsgenie_configs"][0]["priority"] == "P1"


def test_every_route_is_observable_and_null_receivers_are_said(tmp_path: Path) -> None:
    cfg = _config(tmp_path, CLASSES / "h33-external-receivers" / "alertmanager.yml")
    out = tmp_path / "am.yml"
    out.write_text(yaml.safe_dump(_rendered(cfg, "docker")))
    routes = rt.load_route_config(out)
    expected = {r for d in plan(routes.tree) for r in d.expected}
    assert expected and expected <= routes.observable
    cfg = _config(tmp_path, CLASSES / "h33-external-receivers" / "null-receiver.yaml")
    out.write_text(yaml.safe_dump(_rendered(cfg, "docker")))
    routes = rt.load_route_config(out)
    assert routes.silent == {"null"} and not routes.observable


@pytest.mark.parametrize(("name", "words"), [("secret.yaml", "this is a Kubernetes Secret; its config is the value of 'alertmanager.yaml'"),
                                             ("helm-values.yaml", "Helm chart values; the Alertmanager config is under `config`")])
def test_wrappers_around_a_config_are_named(tmp_path: Path, name: str, words: str) -> None:
    cfg = _config(tmp_path, CLASSES / "h33-wrappers" / name)
    with pytest.raises(ConfigError) as info:
        build_files(cfg, "native")
    assert words in info.value.message


@needs_amtool
def test_integration_errors_without_a_line_name_the_receiver(tmp_path: Path) -> None:
    """amtool: `no global Slack API URL set either inline or in a file`, no line: now the slack_configs line."""
    source = CLASSES / "h33-unplaced-errors" / "slack-no-url.yml"
    with pytest.raises(ConfigError) as info:
        render(_config(tmp_path, source), "native")
    assert f"{source}:12: no global Slack API URL set" in info.value.message, info.value.message


@needs_amtool
def test_templates_are_resolved_beside_the_users_file(tmp_path: Path) -> None:
    """Alertmanager reads `templates/*.tmpl` beside its config: a broken one stops it; stackctl checked none."""
    source = CLASSES / "h33-unplaced-errors" / "with-templates.yml"
    with pytest.raises(ConfigError) as info:
        render(_config(tmp_path, source), "native")
    template = source.parent / "templates" / "slack.tmpl"
    message = info.value.message
    assert f"{template}:" in message and ("unexpected" in message or "unclosed" in message), message
    fixed = tmp_path / "fixed"
    shutil.copytree(source.parent, fixed)
    (fixed / "templates" / "slack.tmpl").write_text('{{ define "slack.custom.text" }}{{ range .Alerts }}x{{ end }}{{ end }}\n')
    tree = render(_config(tmp_path, fixed / "with-templates.yml"), "native")
    assert "templates" not in yaml.safe_load((tree.root / "alertmanager" / "alertmanager.yml").read_text())


def test_fire_alerts_says_what_holds_a_notification_back(tmp_path: Path) -> None:
    """Alertmanager's own test config: a muted route and a route without group_by looked 'missing' without a reason."""
    routes = rt.load_route_config(CLASSES / "h33-held-back" / "alertmanager.yml")
    by_route = {d.route: d for d in plan(routes.tree)}
    assert "joins a group other alerts may already be in" in by_route["root"].if_missing
    assert "mutes notifications during maintenance (mute_time_intervals)" in by_route["root.0"].if_missing
    assert "notifies only during unused-window (active_time_intervals)" in by_route["root.0"].if_missing
    shipped = rt.load_route_config(Path(__file__).resolve().parents[2] / "alertmanager" / "alertmanager.yml")
    assert all(d.if_missing == "" for d in plan(shipped.tree))  # group_by alertname: a fresh group each run


def test_synthetic_alerts_do_not_inhibit_one_another(tmp_path: Path) -> None:
    """kube-prometheus' inhibit rules say `equal: [alertname]`: the critical synthetic alert muted the warning one."""
    routes = rt.load_route_config(CLASSES / "h33-inhibit" / "alertmanager.yml")
    assert routes.inhibit_equal == (("alertname",), ("alertname",))
    cases = [d for d in plan(routes.tree, inhibit_equal=routes.inhibit_equal) if d.status != "unreachable"]
    names = [d.labels["alertname"] for d in cases if d.labels.get("severity") in ("critical", "warning", "info")]
    assert len(names) == 3 and len(set(names)) == 3, names
    watchdog = [d for d in cases if d.route == "root.0"]
    assert watchdog[0].labels["alertname"] == "Watchdog"  # a route's own matcher wins


def test_matchers_in_every_form_alertmanager_reads() -> None:
    """`'severity = "critical", team =~ "db|infra"'` crashed fire-alerts (JSONDecodeError); braces were refused."""
    routes = rt.load_route_config(CLASSES / "h33-matchers" / "alertmanager.yml")
    pager = routes.tree.children[1]
    assert [str(m) for m in pager.matchers] == ['severity="critical"', 'team=~"db|infra"']
    assert [str(m) for m in routes.tree.children[0].matchers] == ['alertname="Watchdog"']
    by_route = {(d.route, d.labels.get("team", "")): d for d in plan(routes.tree)}
    assert by_route[("root.1", "db")].expected == ("pager",) and by_route[("root.1", "infra")].expected == ("pager",)
    assert rt.parse_matchers('{a="x,y", b!~"z"}') == [rt.Matcher("a", "=", "x,y"), rt.Matcher("b", "!~", "z")]


@needs_amtool
def test_a_key_newer_than_the_checking_alertmanager_says_so(tmp_path: Path) -> None:
    """msteams_configs (Alertmanager 0.26+) against Debian's 0.25: a bare `field ... not found` before."""
    source = CLASSES / "h33-newer-keys" / "alertmanager.yml"
    try:
        render(_config(tmp_path, source), "native")
    except ConfigError as exc:
        message = exc.message
    else:
        pytest.skip("the amtool here is 0.26 or later: it reads msteams_configs")
    assert f"{source}:6: field msteams_configs not found" in message, message
    if "0.25" in message:  # Debian bookworm's amtool
        assert "`msteams_configs` needs Alertmanager 0.26 or later; amtool 0.25" in message


def test_time_intervals_as_alertmanager_evaluates_them() -> None:
    from datetime import datetime, timezone

    from stackctl.verify.time_intervals import contains

    tue = datetime(2026, 12, 1, 11, 50, tzinfo=timezone.utc)  # a Tuesday
    assert contains({"weekdays": ["monday:friday"]}, tue) and not contains({"weekdays": ["saturday", "sunday"]}, tue)
    assert contains({"times": [{"start_time": "09:00", "end_time": "17:00"}], "weekdays": ["tuesday"]}, tue)
    assert not contains({"times": [{"start_time": "00:00", "end_time": "11:50"}]}, tue)  # the end is excluded
    assert contains({"days_of_month": ["1"]}, tue) and not contains({"days_of_month": ["-1"]}, tue)
    assert contains({"months": ["december"], "years": ["2026:2027"]}, tue) and not contains({"months": ["january:march"]}, tue)
    # 20:30 in Ho Chi Minh City (UTC+7) is 13:30 UTC
    assert contains({"times": [{"start_time": "20:00", "end_time": "21:00"}], "location": "Asia/Ho_Chi_Minh"},
                    datetime(2026, 12, 1, 13, 30, tzinfo=timezone.utc))


def test_a_route_muted_now_is_muted_not_missing() -> None:
    """Alertmanager's own test config: `mute_time_intervals: [maintenance]` (monday:friday) made fire-alerts fail."""
    from datetime import datetime, timezone

    from stackctl.verify.alerts import _update

    routes = rt.load_route_config(CLASSES / "h33-held-back" / "alertmanager.yml")
    tue = datetime(2026, 12, 1, 11, 50, tzinfo=timezone.utc)
    sat = datetime(2026, 12, 5, 11, 50, tzinfo=timezone.utc)
    on_tuesday = {d.route: d for d in plan(routes.tree, now=tue, intervals=routes.intervals)}
    assert on_tuesday["root.0"].muted == "muted now by maintenance (mute_time_intervals)" and on_tuesday["root"].muted == ""
    seen = _update(on_tuesday["root.0"], [], frozenset({"pagerduty", "slack-platform"}))  # as rendered: both post to the sink
    assert seen.status == "muted" and "no notification, as configured" in seen.detail
    on_saturday = {d.route: d for d in plan(routes.tree, now=sat, intervals=routes.intervals)}
    assert on_saturday["root.0"].muted == ""  # active on saturdays (unused-window), not muted: a missing one is missing


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed here")
def test_a_rule_key_newer_than_promtool_says_so() -> None:
    """query_offset / group labels (Prometheus 2.53 / 3.x) against Debian's promtool 2.42: say which version reads them."""
    from stackctl.byo.rules_check import check_rule_files

    rules = CLASSES / "h33-newer-rule-keys" / "rules.yml"
    try:
        check_rule_files([rules])
    except ConfigError as exc:
        message = exc.message
    else:
        pytest.skip("the promtool here reads query_offset and group labels")
    assert f"{rules}:5: field query_offset not found in type rulefmt.RuleGroup (`query_offset` needs Prometheus 2.53 or later;" in message
    assert "is older: use the docker runtime, or leave the key out" in message


@needs_amtool
@pytest.mark.parametrize(("name", "where"), [("root-no-receiver.yml", ":1: root route must specify a default receiver"),
                                              ("duplicate-receiver.yml", ':4, {source}:5: notification config name "a" is not unique'),
                                              ("bad-regex.yml", ":4: error parsing regexp: missing closing )")])
def test_more_unplaced_amtool_errors_get_a_line(tmp_path: Path, name: str, where: str) -> None:
    source = CLASSES / "h33-unplaced-errors" / name
    with pytest.raises(ConfigError) as info:
        render(_config(tmp_path, source), "native")
    assert f"{source}{where.format(source=source)}" in info.value.message, info.value.message


def test_webhooks_to_this_machine_are_kept_beside_the_sink(tmp_path: Path) -> None:
    """A local consumer under test (http://localhost:5001/) still gets its webhook; never through a proxy."""
    cfg = _config(tmp_path, CLASSES / "h33-external-receivers" / "local-webhook.yml")
    receivers = {r["name"]: r for r in _rendered(cfg, "docker")["receivers"]}
    assert receivers["default"]["webhook_configs"] == [{"url": "http://localhost:5001/"},
                                                       {"url": "http://notify-sink:9097/cgi-bin/notify", "send_resolved": True}]
    assert receivers["critical"] == {"name": "critical", "webhook_configs": [{"url": "http://notify-sink:9097/cgi-bin/notify", "send_resolved": True}]}
    assert set(receivers["warning"]) == {"name", "webhook_configs"}
