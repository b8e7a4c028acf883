"""What an adversary tried (issue 21): each case provoked through the real loaders or the real CLI.

Every one must end in a clear error naming the file (and line where there is one), quickly,
with nothing started and nothing deleted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers import REPO, stackctl
from stackctl.config import load_config
from stackctl.errors import ConfigError, ScenarioError, StackctlError, StateError
from stackctl.render.configs import render
from stackctl.seeding.catalog import load_scenario
from stackctl.state.dirs import MARKER, claim_state_dir, owns

LAUGHS = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_")}
    env.update({"STACKCTL_STATE_DIR": str(tmp_path / "state"), "STACKCTL_PROJECT": "hostile"}, **extra)
    return env


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stackctl.yaml"
    path.write_text(text)
    return path


def _load(path: Path, env: dict[str, str] | None = None) -> object:
    return load_config(str(path), env=env or {"HOME": str(path.parent)}, cwd=path.parent)


# -- B8: loaders that crashed or hung --------------------------------------------------------

@pytest.mark.promise("B8")
@pytest.mark.parametrize("text, expected", [
    (LAUGHS, "expands to more than"),
    ("packs: &x [*x]\n", "recursive alias"),
    ("packs: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 64 levels"),
    ("packs:" + "".join(f"\n{'  ' * i}- " for i in range(1, 80)) + "x\n", "nested more than"),
])
def test_hostile_config_yaml_is_a_quick_clean_error(tmp_path: Path, text: str, expected: str) -> None:
    path = _config(tmp_path, text)
    started = time.monotonic()
    with pytest.raises(ConfigError, match=expected) as err:
        _load(path)
    assert time.monotonic() - started < 1.0
    assert str(path) in err.value.message


@pytest.mark.promise("B8")
def test_hostile_scenario_files(tmp_path: Path) -> None:
    laughs = tmp_path / "laughs.yaml"
    laughs.write_text("name: laughs\ndescription: x\npacks: [preview]\n" + LAUGHS)
    with pytest.raises(ScenarioError, match="expands to more than"):
        load_scenario(str(laughs))
    recursive = tmp_path / "rec.yaml"
    recursive.write_text("name: rec\ndescription: x\npacks: &p [*p]\n")
    with pytest.raises(ScenarioError, match="recursive alias"):
        load_scenario(str(recursive))


@pytest.mark.promise("B8")
def test_devices_fifos_and_huge_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        _load(Path("/dev/zero"))
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ConfigError, match="not a regular file"):  # opening it would block forever
        _load(fifo)
    assert time.monotonic() - started < 1.0
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as fh:
        fh.truncate(64 * 1024 * 1024)
    with pytest.raises(ConfigError, match="more than a YAML file may hold"):
        _load(huge)


@pytest.mark.promise("B8")
def test_deeply_nested_dashboard_json_is_a_clean_error(tmp_path: Path) -> None:
    from stackctl.dashboards import load_dashboard

    deep = tmp_path / "deep.json"
    deep.write_text('{"panels": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_dashboard(deep)


@pytest.mark.promise("B1")
def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    path = _config(tmp_path, "project: one\nbind: 127.0.0.1\nproject: two\n")
    with pytest.raises(ConfigError, match=r"stackctl.yaml:3: duplicate key 'project' \(first on line 1\)"):
        _load(path)


# -- config that reads like Prometheus' (issue 13, item 4) -------------------------------------

def test_scrape_accepts_host_port_strings_and_seconds(tmp_path: Path) -> None:
    path = _config(tmp_path, "scrape:\n  - localhost:8000\n  - target: localhost:9000\n    interval: 5\n")
    cfg = _load(path)
    targets = cfg.scrape  # type: ignore[attr-defined]
    assert [(t.target, t.interval) for t in targets] == [("localhost:8000", "5s"), ("localhost:9000", "5s")]


@pytest.mark.parametrize("text, expected", [
    ("scrape:\n  - target: localhost:9000\n    interval: soon\n", r"stackctl.yaml:3: scrape.0.interval: 'soon' is not a duration.*e\.g\. 15s"),
    ("scrape: {a: 1}\n", r"stackctl.yaml:1: scrape: expected a list.*e\.g\. scrape: \['localhost:8000'\]"),
    ("runtime: dockr\n", r"runtime: expected one of 'auto', 'docker' or 'native', got 'dockr'"),
    ("scrape:\n  - target: localhost:9000\n    labels: {bad-label: x}\n", r"stackctl.yaml:3: scrape.0.labels: 'bad-label' is not a Prometheus label name"),
    ("timeout: soon\n", r"timeout: 'soon' is not a duration"),
])
def test_validation_messages_say_what_where_and_show_the_right_form(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        _load(_config(tmp_path, text))


def test_timeout_takes_a_duration(tmp_path: Path) -> None:
    assert _load(_config(tmp_path, "timeout: 2m\n")).timeout == 120.0  # type: ignore[attr-defined]


# -- B9: values reaching rendered files ----------------------------------------------------------

@pytest.mark.promise("B9")
@pytest.mark.parametrize("text, expected", [
    ('state_dir: "/tmp/x\\nremote_write:\\n- url: http://127.0.0.1:9/"\n', "holds a control character"),
    ('project: "demo\\n"\n', "holds a control character"),
    ("project: " + "a" * 200 + "\n", "200 characters long, the limit is 63"),
    ("ports: {prometheus: true}\n", "must be a whole number"),
    ("ports: {prometheus: 80}\n", "between 1024 and 65535"),
    ('images: {prometheus: "prom/prometheus:v3\\n"}\n', "not a valid image reference"),
    ('dashboards: ["dash\\nboards"]\n', "holds a control character"),
])
def test_values_that_reach_rendered_files_are_checked(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        _load(_config(tmp_path, text))


@pytest.mark.promise("B9")
def test_env_values_are_checked_too(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "STACKCTL_IMAGE_PROMETHEUS": "prom/prometheus:v3\n"}
    with pytest.raises(ConfigError, match="env STACKCTL_IMAGE_PROMETHEUS"):
        load_config(None, env=env, cwd=tmp_path)
    with pytest.raises(ConfigError, match="control character"):
        load_config(None, env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": "/tmp/x\nrule_files: []"}, cwd=tmp_path)


@pytest.mark.promise("B9")
def test_a_state_dir_with_yaml_syntax_stays_one_path_in_the_native_render(tmp_path: Path) -> None:
    """`state_dir: "/tmp/x #y"` used to turn the rule path into a YAML comment: 0 rule groups."""
    state = tmp_path / "x #y: {a: b}"
    cfg = load_config(None, env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(state)}, cwd=tmp_path)
    render(cfg, "native")
    doc = yaml.safe_load((state / "rendered" / "prometheus" / "prometheus.yml").read_text())
    assert doc["rule_files"], "rule files lost"
    assert all(str(f).startswith(str(state / "rendered")) for f in doc["rule_files"]), doc["rule_files"]
    assert set(doc) <= {"global", "rule_files", "scrape_configs", "alerting", "storage", "remote_write", "otlp"}, set(doc)


def test_a_private_user_dashboard_stays_private_when_rendered(tmp_path: Path) -> None:
    folder = tmp_path / "dash"
    folder.mkdir()
    (folder / "mine.json").write_text(json.dumps({"title": "mine", "uid": "mine", "panels": []}))
    (folder / "mine.json").chmod(0o600)
    cfg_file = _config(tmp_path, "dashboards: [dash]\n")
    cfg = load_config(str(cfg_file), env={"HOME": str(tmp_path), "STACKCTL_STATE_DIR": str(tmp_path / "state")}, cwd=tmp_path)
    render(cfg, "native")
    rendered = tmp_path / "state" / "rendered" / "grafana" / "dashboards" / "user-dash" / "mine.json"
    assert rendered.stat().st_mode & 0o777 == 0o600


# -- R7: nothing deleted that stackctl did not create ----------------------------------------------

@pytest.mark.promise("R7")
def test_up_refuses_a_state_dir_holding_user_files(tmp_path: Path) -> None:
    home = tmp_path / "repo"
    (home / "rendered" / "notes").mkdir(parents=True)
    (home / "rendered" / "notes" / "todo.txt").write_text("mine")
    (home / "data" / "redis").mkdir(parents=True)
    (home / "data" / "redis" / "backup.rdb").write_text("mine")
    (home / "README.md").write_text("my project")
    _config(home, "state_dir: .\nservices: [prometheus]\n")
    env = _env(tmp_path)
    env.pop("STACKCTL_STATE_DIR")
    result = stackctl("up", "--runtime", "native", env=env, cwd=home, timeout=60)
    assert result.returncode != 0
    assert "holds files stackctl did not create (README.md, stackctl.yaml)" in result.stderr
    assert "Traceback" not in result.stderr
    down = stackctl("down", "--volumes", "--runtime", "native", env=env, cwd=home, timeout=60)
    assert "Traceback" not in down.stderr
    assert (home / "rendered" / "notes" / "todo.txt").read_text() == "mine"
    assert (home / "data" / "redis" / "backup.rdb").read_text() == "mine"
    assert not (home / MARKER).exists()


@pytest.mark.promise("R7")
def test_state_dirs_are_claimed_once_and_old_ones_adopted(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    claim_state_dir(fresh)
    assert owns(fresh)
    old = tmp_path / "old"  # written by a stackctl from before the marker
    (old / "rendered").mkdir(parents=True)
    (old / "stack.json").write_text("{}")
    claim_state_dir(old)
    assert owns(old)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    with pytest.raises(StateError, match="thesis.tex"):
        claim_state_dir(foreign)
    assert not owns(foreign)


# -- smaller ones (item 9) -----------------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("redis://localhost:notaport", "has an invalid port"),
    ("redis:///", "is not a redis/rediss URL with a host"),
    ("http://127.0.0.1:6379", "is not a redis/rediss URL with a host"),
])
def test_a_malformed_redis_url_is_a_usage_error_not_localhost(tmp_path: Path, url: str, expected: str) -> None:
    result = stackctl("seed", "-s", "all-healthy", "--duration", "0", "--redis-url", url, env=_env(tmp_path), timeout=60)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_a_negative_random_seed_is_refused_before_anything_starts(tmp_path: Path) -> None:
    result = stackctl("seed", "-s", "all-healthy", "--random-seed", "-1", "--detach", env=_env(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "--random-seed -1 is out of range" in result.stderr
    assert "Traceback" not in result.stderr and "background" not in result.stdout + result.stderr
    assert not (tmp_path / "state" / "seed.json").exists()


@pytest.mark.promise("B3")
def test_scenario_label_names_and_relative_bases(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.yaml").write_text(
        "name: base\ndescription: b\npacks: [preview]\nmetrics:\n  - name: my_total\n    type: counter\n    rate: 1\n")
    child = tmp_path / "child.yaml"
    child.write_text("name: child\ndescription: c\npacks: [preview]\nbase: [sub/base.yaml]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = os.getcwd()
    os.chdir(elsewhere)  # the base resolves against child.yaml's folder, not the working directory
    try:
        assert [m.name for m in load_scenario(str(child)).metrics] == ["my_total"]
    finally:
        os.chdir(cwd)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndescription: c\npacks: [preview]\nmetrics:\n  - name: my_total\n    type: counter\n"
                   "    rate: 1\n    labels: {bad-label: x}\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml:8: metrics.0.labels: 'bad-label' is not a label name"):
        load_scenario(str(bad))


def test_verify_with_a_missing_dashboards_path_says_so(tmp_path: Path) -> None:
    result = stackctl("verify", "--dashboards", str(tmp_path / "nope"), "--prometheus-url", "http://127.0.0.1:9",
                      env=_env(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr


def test_ctrl_c_while_the_cli_starts_prints_no_traceback(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for delay in (0.05, 0.1, 0.2, 0.3):
        proc = subprocess.Popen([sys.executable, "-m", "stackctl", "status"], env=env, cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
        assert "Traceback" not in err, f"after {delay}s:\n{err}"
        assert proc.returncode in (0, 1, 130, -signal.SIGINT), (delay, proc.returncode, err)


def test_docker_host_that_is_not_docker_is_named(tmp_path: Path) -> None:
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    if shutil.which("docker") is None:
        pytest.skip("no docker CLI to ask")

    class NotDocker(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b"not docker")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), NotDocker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = _env(tmp_path, DOCKER_HOST=f"tcp://127.0.0.1:{server.server_port}")
        result = stackctl("up", "--runtime", "docker", "--services", "prometheus", env=env, timeout=90)
    finally:
        server.shutdown()
    assert result.returncode != 0
    assert "is not a Docker engine" in result.stderr, result.stderr
    assert "cannot be pulled" not in result.stderr


def test_every_hostile_case_is_a_stackctl_error() -> None:
    """The classes used above are the project's own: the CLI prints them without a traceback."""
    assert issubclass(ConfigError, StackctlError) and issubclass(StateError, StackctlError)
