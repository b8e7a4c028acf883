"""Bad input through the real CLI: a clear error (file/field/line), a non-zero exit, nothing
started, and a stack that was already running is left running with its data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import isolated_env, require_binaries, stackctl

# Every test runs `up` on the native runtime (most expect it to refuse before starting anything).
pytestmark = pytest.mark.native


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path, ("prometheus", "redis"), STACKCTL_RUNTIME="native")


def assert_clean_failure(result, *needles: str, code: int = 2) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def nothing_started(env: dict[str, str]) -> bool:
    return not list((Path(env["STACKCTL_STATE_DIR"]) / "run").glob("*.json"))


@pytest.mark.promise("B1")
@pytest.mark.parametrize("text, needles", [
    ("project: demo\nports:\n  prometheus: [9090\n", ["stackctl.yaml:4: invalid YAML", "on line 3"]),
    ("projet: demo\n", ["stackctl.yaml:1", "unknown key 'projet'", "did you mean 'project'"]),
    ("timeout: soon\n", ["stackctl.yaml:1", "timeout"]),
    ("ports:\n  redis: 70000\n", ["port 70000 for redis is out of range"]),
    ("ports:\n  redis: 9090\n  prometheus: 9090\n", ["both configured on port 9090"]),
])
def test_malformed_stackctl_yaml(env: dict[str, str], tmp_path: Path, text: str, needles: list[str]) -> None:
    for key in [k for k in env if k.startswith("STACKCTL_PORT_")]:
        del env[key]
    (tmp_path / "stackctl.yaml").write_text(text)
    assert_clean_failure(stackctl("up", env=env, cwd=tmp_path), *needles)
    assert nothing_started(env)


@pytest.mark.promise("B2")
def test_unknown_service_and_scenario_names(env: dict[str, str]) -> None:
    assert_clean_failure(stackctl("up", "--services", "prometheus,grafanna", env=env), "unknown service 'grafanna'", "did you mean 'grafana'")
    assert_clean_failure(stackctl("up", "--seed", "preview-failure", env=env), "preview-failure", "did you mean")
    assert nothing_started(env)
    assert_clean_failure(stackctl("seed", "--scenario", "all-healty", "--prometheus-url", "http://127.0.0.1:1",
                                  "--redis-url", "redis://127.0.0.1:1", "--loki-url", "http://127.0.0.1:1", env=env),
                         "all-healty", "did you mean 'all-healthy'")
    assert_clean_failure(stackctl("logs", "prometeus", env=env), "unknown service 'prometeus'")
    assert_clean_failure(stackctl("scenarios", "show", "nope", env=env), "nope")


@pytest.mark.promise("B3")
def test_malformed_scenario_file(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\ndescription: x\nmetrics:\n  - name: foo_total\n    type: counterr\n")
    result = stackctl("seed", "--scenario", str(bad), "--prometheus-url", "http://127.0.0.1:1", env=env)
    assert_clean_failure(result, "mine.yaml:5")


@pytest.mark.promise("B4")
def test_invalid_image_reference(env: dict[str, str]) -> None:
    env["STACKCTL_IMAGE_PROMETHEUS"] = "Prom/Prometheus::v3"
    assert_clean_failure(stackctl("up", env=env), "not a valid image reference for prometheus", "STACKCTL_IMAGE_PROMETHEUS")
    assert nothing_started(env)


@pytest.mark.promise("B5")
def test_dashboard_that_is_not_json(env: dict[str, str], tmp_path: Path) -> None:
    require_binaries("prometheus", "redis-server")
    (tmp_path / "dash").mkdir()
    (tmp_path / "dash" / "mine.json").write_text('{\n  "panels": [\n    {"title": "x",}\n  ]\n}\n')
    (tmp_path / "stackctl.yaml").write_text("dashboards: [dash]\n")
    result = stackctl("up", env=env, cwd=tmp_path)
    assert_clean_failure(result, "mine.json:3", "not valid JSON", code=2)
    assert nothing_started(env)


@pytest.mark.promise("B6")
def test_unreadable_or_missing_config_path(env: dict[str, str], tmp_path: Path) -> None:
    assert_clean_failure(stackctl("up", "--config", str(tmp_path / "nope.yaml"), env=env), "nope.yaml does not exist")
    (tmp_path / "adir.yaml").mkdir()
    assert_clean_failure(stackctl("up", "--config", str(tmp_path / "adir.yaml"), env=env), "is a directory")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00bad")
    assert_clean_failure(stackctl("config", "--config", str(tmp_path / "binary.yaml"), env=env), "binary.yaml")
    assert nothing_started(env)


@pytest.mark.native
@pytest.mark.promise("B1", "B2", "B5")
def test_bad_input_leaves_a_running_stack_and_its_data_alone(env: dict[str, str], tmp_path: Path) -> None:
    require_binaries("prometheus", "redis-server")
    try:
        assert stackctl("up", env=env).returncode == 0
        import redis

        client = redis.Redis(host="127.0.0.1", port=int(env["STACKCTL_PORT_REDIS"]))
        client.set("afternoon", "of data")
        pids = {p.name: p.read_text() for p in (Path(env["STACKCTL_STATE_DIR"]) / "run").glob("*.json")}
        (tmp_path / "stackctl.yaml").write_text("dashboards: [dash]\n")
        (tmp_path / "dash").mkdir()
        (tmp_path / "dash" / "x.json").write_text("not json")
        assert stackctl("up", env=env, cwd=tmp_path).returncode == 2
        assert stackctl("up", "--services", "nope", env=env).returncode == 2
        status = {s["service"]: s["state"] for s in json.loads(stackctl("status", "--json", env=env).stdout)}
        assert status["prometheus"] == "healthy" and status["redis"] == "healthy"
        assert {p.name: p.read_text() for p in (Path(env["STACKCTL_STATE_DIR"]) / "run").glob("*.json")} == pids
        assert client.get("afternoon") == b"of data"
    finally:
        stackctl("down", "--volumes", env=env)


@pytest.mark.promise("B2")
@pytest.mark.parametrize("argv, needle", [
    (("up", "--bogus"), "No such option"),
    (("logs",), "Missing argument"),
    (("logs", "redis", "--tail", "abc"), "Invalid value"),
    (("nosuchcommand",), "No such command"),
])
def test_usage_errors_exit_2_without_traceback(env: dict[str, str], argv: tuple[str, ...], needle: str) -> None:
    assert_clean_failure(stackctl(*argv, env=env), needle)
