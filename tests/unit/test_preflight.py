"""The render preflight: provisioning files, scrape entries, amtool's and promtool's verdicts
mapped to the user's file and line (stackctl/render/preflight.py and friends)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stackctl.byo.rules_check import _rejected, check_rule_files
from stackctl.config import load_config
from stackctl.errors import ConfigError
from stackctl.render.alertmanager_check import explanation, rejected
from stackctl.render.configs import render, rendered_root
from stackctl.render.provisioning_check import check_provisioning

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROVISIONING = FIXTURES / "grafana" / "provisioning"


def _config(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    (tmp_path / "stackctl.yaml").write_text(text)
    return load_config(env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)


def _provisioning(name: str, kind: str) -> dict[str, bytes | Path]:
    return {f"grafana/provisioning/{kind}/{name}": PROVISIONING / name,
            "grafana/dashboards/preview/preview.json": Path("preview.json")}


def _container(path: str) -> str | None:
    return path.replace("/var/lib/grafana/", "grafana/") if path.startswith("/var/lib/grafana/") else None


def test_datasource_file_errors_name_file_line_and_field() -> None:
    found = check_provisioning(_provisioning("datasources-invalid.yml", "datasources"), _container)
    src = str(PROVISIONING / "datasources-invalid.yml")
    assert f"{src}:14: datasources[1].uid: uid 'loki with spaces' must be 1..40 characters" in "\n".join(found.errors)
    assert f"{src}:15: datasources[1].access: access 'browser' must be proxy or direct" in found.errors
    assert any(e.startswith(f"{src}:17: datasources[1].isDefault: a second default datasource") for e in found.errors)
    assert f"{src}:21: datasources[2].name: a datasource needs a name" in found.errors
    assert any(w.startswith(f"{src}:18: datasources[1].jsondata: unknown key 'jsondata' (did you mean 'jsonData'?)") for w in found.warnings)


def test_provider_file_errors() -> None:
    found = check_provisioning(_provisioning("dashboards-invalid.yml", "dashboards"), _container)
    text = "\n".join(found.errors)
    assert "providers[0].options.foldersFromFilesStructure: foldersFromFilesStructure names folders after directories" in text
    assert "providers[1].name: provider name 'mine' is used twice" in text
    assert "providers[1].type: type 'git'" in text
    assert "providers[1].updateIntervalSeconds: updateIntervalSeconds must be a whole number" in text
    assert "providers[1].options: a file provider needs options.path" in text
    assert any("unknown key 'paths' (did you mean 'path'?)" in w for w in found.warnings)


def test_missing_api_version_is_a_warning() -> None:
    found = check_provisioning(_provisioning("datasources-no-version.yml", "datasources"), _container)
    assert not found.errors
    assert any("no apiVersion" in w for w in found.warnings) and any("no uid" in w for w in found.warnings)


def test_the_shipped_provisioning_renders_clean(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "{}\n")
    for runtime in ("native", "docker"):
        tree = render(cfg, runtime)
        assert not [w for w in tree.warnings if "grafana" in w], tree.warnings


def test_bad_scrape_labels_and_intervals_are_reported_against_stackctl_yaml(tmp_path: Path) -> None:
    # Label names and durations are refused as the file is loaded, at their stackctl.yaml lines.
    with pytest.raises(ConfigError) as info:
        _config(tmp_path, "scrape:\n  - target: localhost:8000\n    interval: 5 seconds\n"
                          "    labels:\n      bad-label: x\n")
    src = tmp_path / "stackctl.yaml"
    assert f"{src}:3: scrape.0.interval: '5 seconds' is not a duration" in info.value.message
    assert f"{src}:4: scrape.0.labels: 'bad-label' is not a Prometheus label name" in info.value.message
    # What only the rendered whole shows (a job name the stack already uses) is the preflight's.
    cfg = _config(tmp_path, "scrape:\n  - target: localhost:8000\n  - target: localhost:8001\n    job: prometheus\n")
    with pytest.raises(ConfigError) as info:
        render(cfg, "native")
    assert f"{src}:4: scrape[1].job: job name 'prometheus' is already a job of the stack's prometheus.yml" in info.value.message
    assert not rendered_root(cfg).exists(), "nothing is written when the preflight fails"


def test_a_rejected_render_keeps_the_last_good_tree(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "scrape:\n  - target: localhost:8000\n")
    render(cfg, "native")
    before = {p: p.read_bytes() for p in rendered_root(cfg).rglob("*") if p.is_file()}
    bad = _config(tmp_path, "scrape:\n  - target: localhost:8000\n    interval: 0s\n")
    with pytest.raises(ConfigError):
        render(bad, "native")
    assert {p: p.read_bytes() for p in rendered_root(cfg).rglob("*") if p.is_file()} == before


AMTOOL_OUTPUT = """Checking '/tmp/x/alertmanager.yml'  FAILED: yaml: unmarshal errors:
  line {line}: field tracing not found in type config.plain

amtool: error: failed to validate 1 file(s)
"""


def test_amtool_lines_of_the_rendered_file_map_to_the_override_file(tmp_path: Path) -> None:
    (tmp_path / "simple.yml").write_text((FIXTURES / "alertmanager" / "simple.yml").read_text())
    cfg = _config(tmp_path, "alertmanager:\n  config: simple.yml\n")
    import yaml

    from stackctl.render.configs import _dump

    rendered = _dump(yaml.safe_load((tmp_path / "simple.yml").read_text())).decode()
    line = next(i for i, text in enumerate(rendered.splitlines(), 1) if text.startswith("tracing:"))
    assert line < 126  # the rendered file lost the comments: its line is not the user's
    error = rejected(cfg, rendered, AMTOOL_OUTPUT.format(line=line))
    assert f"{tmp_path / 'simple.yml'}:126: field tracing not found in type config.plain" in error.message
    assert "nothing was started" in (error.hint or "")


def test_amtool_quoted_names_map_to_stackctl_yaml_routes(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "alertmanager:\n  routes:\n    - receiver: nobody\n      matchers: ['a=\"b\"']\n")
    import yaml

    from stackctl.render.configs import _dump

    base = yaml.safe_load((Path(__file__).resolve().parents[2] / "alertmanager" / "alertmanager.yml").read_text())
    base["route"].setdefault("routes", [])[:0] = [{"receiver": "nobody", "matchers": ['a="b"']}]
    error = rejected(cfg, _dump(base).decode(), "Checking 'x'  FAILED: undefined receiver \"nobody\" used in route\n")
    assert f"{tmp_path / 'stackctl.yaml'}:3: undefined receiver \"nobody\" used in route" in error.message


def test_explanation_keeps_every_line_of_amtool() -> None:
    assert explanation(AMTOOL_OUTPUT.format(line=7)) == ["yaml: unmarshal errors:", "line 7: field tracing not found in type config.plain"]


def test_promtool_whole_explanation_is_kept_with_the_users_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    output = f"Checking {rules}\n  FAILED:\n{rules}: yaml: unmarshal errors:\n  line 1: field apiVersion not found in type rulefmt.RuleGroups\n"
    message = _rejected([rules], {rules: str(rules)}, output).message
    assert f"{rules}:1: field apiVersion not found in type rulefmt.RuleGroups" in message
    inside = "/rules/0-rules.yml"  # the docker checker's name for the file
    output = output.replace(str(rules), inside)
    assert f"{rules}:1: field apiVersion not found" in _rejected([rules], {rules: inside}, output).message


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed here")
def test_real_promtool_explanation(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("apiVersion: v1\ngroups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n")
    with pytest.raises(ConfigError) as info:
        check_rule_files([rules])
    assert f"{rules}:1: field apiVersion not found in type rulefmt.RuleGroups" in info.value.message


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed here")
def test_undefined_receiver_found_by_real_amtool_names_the_stackctl_yaml_line(tmp_path: Path) -> None:
    """Issue 21: an undefined receiver was found only when Alertmanager started, against the rendered file."""
    cfg = _config(tmp_path, "alertmanager:\n  receivers: []\n  routes:\n    - receiver: team-typo\n      matchers: ['team=\"x\"']\n")
    with pytest.raises(ConfigError) as info:
        render(cfg, "native")
    assert f"{tmp_path / 'stackctl.yaml'}:4: undefined receiver \"team-typo\" used in route" in info.value.message
    assert not rendered_root(cfg).exists()


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed here")
def test_upstream_example_rejected_by_real_amtool_at_the_users_line(tmp_path: Path) -> None:
    (tmp_path / "simple.yml").write_text((FIXTURES / "alertmanager" / "simple.yml").read_text())
    cfg = _config(tmp_path, "alertmanager:\n  config: simple.yml\n")
    with pytest.raises(ConfigError) as info:
        render(cfg, "native")
    assert f"{tmp_path / 'simple.yml'}:126: field tracing not found" in info.value.message


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed here")
def test_lines_map_past_the_external_receivers(tmp_path: Path) -> None:
    """With the Slack/PagerDuty receivers merged in between, a user's receiver still maps to stackctl.yaml."""
    (tmp_path / "stackctl.yaml").write_text(
        "alertmanager:\n  receivers:\n    - name: team-x\n      webhook_configs:\n        - url: http://127.0.0.1:9/x\n          sendresolved: true\n")
    env = {"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state"),
           "SLACK_WEBHOOK_URL": "https://hooks.example/x", "PAGERDUTY_ROUTING_KEY": "k" * 32}
    cfg = load_config(env=env, cwd=tmp_path)
    with pytest.raises(ConfigError) as info:
        render(cfg, "native")
    assert f"{tmp_path / 'stackctl.yaml'}:6: field sendresolved not found" in info.value.message, info.value.message


def test_a_refused_reload_says_why(tmp_path: Path) -> None:
    """Observed: `alertmanager did not reload its configuration: 500 Server Error ... /-/reload` with no cause."""
    import http.server
    import threading

    from stackctl.errors import StackctlError
    from stackctl.stack.orchestrator import _reload
    from stackctl.state.ports import free_ports

    class Refuses(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = b"failed to reload config: yaml: unmarshal errors:\n  line 75: field tracing not found in type config.plain\n"
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    port = free_ports(1)[0]
    server = http.server.HTTPServer(("127.0.0.1", port), Refuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = _config(tmp_path, "{}\n")
        cfg = cfg.with_(ports={**cfg.ports, "alertmanager": port}, bind="127.0.0.1")
        with pytest.raises(StackctlError) as info:
            _reload(cfg, ("alertmanager",))
        assert "field tracing not found in type config.plain" in info.value.message
    finally:
        server.shutdown()
        server.server_close()
