"""`stackctl init`: detection on real folder layouts, and a file that load_config accepts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from helpers import stackctl
from stackctl.byo.init import find_dashboard_dirs, find_rule_paths, init_config, probe_metrics
from stackctl.config import load_config
from stackctl.errors import UsageError
from stackctl.state.ports import free_port

RULES = "groups:\n  - name: app\n    rules:\n      - record: app:up:sum\n        expr: sum(up)\n"
DASHBOARD = json.dumps({"title": "d", "panels": []})


def touch(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def seed_000(tmp_path: Path) -> Path:
    """Laid out like seed 000: infra/observability/{grafana/dashboards,prometheus/rules}."""
    repo = tmp_path / "backend"
    touch(repo, "infra/observability/grafana/dashboards/api.json", DASHBOARD)
    touch(repo, "infra/observability/prometheus/rules/api.yml", RULES)
    touch(repo, "infra/observability/prometheus/rules/slo.yaml", RULES)
    touch(repo, "src/app.py", "print('hi')\n")
    return repo


@pytest.fixture
def seed_003(tmp_path: Path) -> Path:
    """Laid out like seed 003: monitoring/, per-team dashboard folders, rule files by name."""
    repo = tmp_path / "svc"
    touch(repo, "monitoring/grafana/dashboards/team-a/a.json", DASHBOARD)
    touch(repo, "monitoring/grafana/dashboards/team-b/nested/b.json", DASHBOARD)
    touch(repo, "monitoring/alerts.yml", RULES)
    touch(repo, "monitoring/recording.rules.yml", RULES)
    touch(repo, "ops/alert_rules.yml", RULES)
    # look-alikes that are not rule files / not where dashboards live
    touch(repo, ".github/workflows/alerts.yml", "on: push\njobs: {}\n")
    touch(repo, "ci/alerts.yml", "notify: [email]\n")
    touch(repo, "node_modules/x/dashboards/vendor.json", DASHBOARD)
    touch(repo, "grafana/dashboards/README.md", "no json here\n")
    return repo


def test_detects_seed_000_layout(seed_000: Path) -> None:
    assert find_dashboard_dirs(seed_000) == ["infra/observability/grafana/dashboards"]
    assert find_rule_paths(seed_000) == ["infra/observability/prometheus/rules"]


def test_detects_seed_003_layout_and_ignores_look_alikes(seed_003: Path) -> None:
    assert find_dashboard_dirs(seed_003) == ["monitoring/grafana/dashboards/team-a", "monitoring/grafana/dashboards/team-b"]
    assert find_rule_paths(seed_003) == ["monitoring/alerts.yml", "monitoring/recording.rules.yml", "ops/alert_rules.yml"]


def test_written_file_loads_with_load_config(seed_003: Path) -> None:
    result = init_config(seed_003, ["localhost:8000"], probe=False)
    assert result.path == seed_003 / "stackctl.yaml"
    cfg = load_config(env={}, cwd=seed_003)
    assert cfg.config_file == result.path
    assert [(t.target, t.job, t.path) for t in cfg.scrape] == [("localhost:8000", "svc", "/metrics")]
    assert cfg.dashboards == (seed_003 / "monitoring/grafana/dashboards/team-a", seed_003 / "monitoring/grafana/dashboards/team-b")
    assert cfg.rules == tuple(seed_003 / p for p in ("monitoring/alerts.yml", "monitoring/recording.rules.yml", "ops/alert_rules.yml"))
    assert cfg.packs is None, "packs stays commented: all built-in packs"
    text = result.path.read_text()
    for key in ("# scrape:", "# dashboards:", "# rules:", "# packs:", "# alertmanager:", "host.docker.internal", "0.0.0.0"):
        assert key in text, key


def test_empty_repo_writes_a_loadable_file_with_examples(tmp_path: Path) -> None:
    init_config(tmp_path)
    cfg = load_config(env={}, cwd=tmp_path)
    assert cfg.scrape == () and cfg.dashboards == () and cfg.rules == ()
    assert "#   - target: localhost:8000" in (tmp_path / "stackctl.yaml").read_text()


def test_several_targets_get_distinct_jobs(tmp_path: Path) -> None:
    init_config(tmp_path, ["localhost:8000", "127.0.0.1:9100"], probe=False)
    jobs = [t.job for t in load_config(env={}, cwd=tmp_path).scrape]
    assert len(set(jobs)) == 2 and all(j is not None and j.endswith(("-8000", "-9100")) for j in jobs)


def test_paths_with_spaces_are_quoted_and_load(tmp_path: Path) -> None:
    touch(tmp_path, "my ops/grafana/dashboards/x.json", DASHBOARD)
    init_config(tmp_path)
    assert load_config(env={}, cwd=tmp_path).dashboards == (tmp_path / "my ops/grafana/dashboards",)


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    existing = touch(tmp_path, "stackctl.yaml", "project: mine\n")
    with pytest.raises(UsageError) as caught:
        init_config(tmp_path)
    assert str(existing) in caught.value.message and "--force" in (caught.value.hint or "")
    assert existing.read_text() == "project: mine\n"
    init_config(tmp_path, force=True)
    assert "written by `stackctl init`" in existing.read_text()


@pytest.mark.parametrize("bad", ["localhost", "localhost:", ":8000", "localhost:http", "localhost:70000"])
def test_scrape_must_be_host_port(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        init_config(tmp_path, [bad])
    assert repr(bad) in caught.value.message and "host:port" in caught.value.message
    assert not (tmp_path / "stackctl.yaml").exists()


@pytest.fixture
def live_app() -> Iterator[int]:
    registry = CollectorRegistry()
    Counter("init_probe_hits", "probe target", registry=registry).inc()
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield port
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_probe_notes_whether_metrics_answered(tmp_path: Path, live_app: int) -> None:
    assert "answered with" in probe_metrics("localhost", live_app)
    assert "did not answer" in probe_metrics("localhost", free_port())
    assert "not probed" in probe_metrics("192.0.2.10", 8000), "never probes beyond loopback"
    init_config(tmp_path, [f"localhost:{live_app}"])
    assert f"# http://127.0.0.1:{live_app}/metrics answered with" in (tmp_path / "stackctl.yaml").read_text()


def test_cli_init(seed_000: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_")}
    first = stackctl("init", "--scrape", "localhost:8000", "--dir", str(seed_000), env=env)
    assert first.returncode == 0, first.stderr
    assert "infra/observability/grafana/dashboards" in first.stderr and "wrote" in first.stderr
    again = stackctl("init", "--dir", str(seed_000), env=env)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr
    bad = stackctl("init", "--scrape", "nope", "--force", env=env, cwd=seed_000)
    assert bad.returncode == 2 and "'nope' is not host:port" in bad.stderr
