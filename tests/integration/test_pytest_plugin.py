"""The pytest plugin as users meet it: a test file outside the repo, run by a separate pytest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import REPO, STANDIN_IMAGES, require_binaries, require_docker

pytestmark = pytest.mark.native

USER_TEST = textwrap.dedent(
    '''
    import requests

    def test_stack_is_ready(observability_stack):
        assert requests.get(observability_stack.url("prometheus") + "/-/ready", timeout=5).ok
        assert observability_stack.redis().ping()
        assert observability_stack.query("vector(42)") == 42.0
        assert isinstance(observability_stack.query('up{job="nothing"}'), list)

    def test_preview_failures_fire(observability_stack):
        observability_stack.seed("preview-failures", history="30m")
        ratio = observability_stack.query(
            'sum(rate(preview_generation_jobs_completed_total{outcome="failed"}[10m]))'
            ' / sum(rate(preview_generation_jobs_completed_total[10m]))')
        assert ratio > 0.1
        # seed() restored the `for:` state its history implies: firing at once, not in 10 minutes
        alert = observability_stack.wait_for_alert("PreviewGenerationHighFailureRate", state="firing", timeout=15)
        assert alert["labels"]["severity"] == "page"
        sent = observability_stack.wait_for_notification(receiver="local-page", alertname="PreviewGenerationHighFailureRate")
        assert sent.status == "firing" and sent.labels["pack"] == "preview"
    '''
)

APP_TEST = textwrap.dedent(
    '''
    import threading
    from http.server import ThreadingHTTPServer
    from prometheus_client import CollectorRegistry, Counter
    from prometheus_client.exposition import MetricsHandler

    def test_my_app_is_scraped(observability_stack):
        registry = CollectorRegistry()
        hits = Counter("myapp_hits_total", "hits", registry=registry)
        hits.inc(3)
        server = ThreadingHTTPServer(("127.0.0.1", 0), MetricsHandler.factory(registry))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            observability_stack.add_scrape_target(f"127.0.0.1:{server.server_port}", job="myapp")
            import time
            deadline = time.monotonic() + 30
            while observability_stack.query('myapp_hits_total{job="myapp"}') == [] and time.monotonic() < deadline:
                time.sleep(0.5)
            assert observability_stack.query('myapp_hits_total{job="myapp"}') == 3.0
        finally:
            server.shutdown()

    def test_wait_for_alert_timeout_explains(observability_stack):
        import pytest
        with pytest.raises(AssertionError) as err:
            observability_stack.wait_for_alert("PreviewQueueStalled", state="firing", timeout=2)
        assert "it is inactive" in str(err.value) and "preview_generation_queue_depth" in str(err.value)
    '''
)


def run_user_pytest(workdir: Path, *args: str, python: str = sys.executable, extra_env: dict[str, str] | None = None, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STACKCTL_PORT_", "STACKCTL_PROJECT", "STACKCTL_STATE_DIR"))}
    env.update(extra_env or {})
    return subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    require_binaries("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")
    d = tmp_path / "user-project"
    d.mkdir()
    return d


def test_native_fixture_seed_query_alert_and_scrape(user_dir: Path) -> None:
    (user_dir / "test_user.py").write_text(USER_TEST)
    (user_dir / "test_app.py").write_text(APP_TEST)
    result = run_user_pytest(user_dir, "--stackctl-runtime", "native")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout
    assert "stackctl native stack pytest-" in result.stdout  # what ran, and what was left out
    assert "left out: grafana" in result.stdout or "grafana" not in result.stdout


def test_two_sessions_at_once_never_collide(user_dir: Path) -> None:
    (user_dir / "test_user.py").write_text(USER_TEST.split("def test_preview_failures_fire")[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKCTL_PORT_")}
    procs = [subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--stackctl-runtime", "native"],
                              cwd=user_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    projects = {line.split()[3].rstrip(":") for out in outputs for line in out.splitlines() if line.startswith("stackctl native stack")}
    assert len(projects) == 2, outputs


def test_ini_options_and_keep(user_dir: Path) -> None:
    (user_dir / "pytest.ini").write_text("[pytest]\nstackctl_runtime = native\nstackctl_services = prometheus,redis\nstackctl_keep = true\n")
    (user_dir / "test_it.py").write_text(
        "def test_only_what_was_asked(observability_stack):\n"
        "    assert observability_stack.cfg.services == ('prometheus', 'redis')\n"
        "    open('state_dir.txt', 'w').write(str(observability_stack.cfg.state_dir))\n"
    )
    result = run_user_pytest(user_dir)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "--stackctl-keep: left running" in result.stdout
    state_dir = (user_dir / "state_dir.txt").read_text()
    env = {**os.environ, "STACKCTL_STATE_DIR": state_dir, "STACKCTL_RUNTIME": "native"}
    status = subprocess.run([sys.executable, "-m", "stackctl", "status", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert '"healthy"' in status.stdout, status.stdout + status.stderr
    down = subprocess.run([sys.executable, "-m", "stackctl", "down", "--volumes"], env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr


@pytest.mark.docker
def test_docker_fixture_on_standins(user_dir: Path) -> None:
    require_docker()
    (user_dir / "test_user.py").write_text(USER_TEST.split("def test_preview_failures_fire")[0])
    images = {f"STACKCTL_IMAGE_{s.upper().replace('-', '_')}": image for s, image in STANDIN_IMAGES.items()}
    result = run_user_pytest(user_dir, "--stackctl-runtime", "docker", "--stackctl-services", "prometheus,alertmanager,pushgateway,redis", extra_env=images)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "stackctl docker stack pytest-" in result.stdout
    project = result.stdout.split("stackctl docker stack ", 1)[1].split(":", 1)[0]
    left = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=io.stackctl.project={project}"],
                          capture_output=True, text=True).stdout.split()
    assert not left, f"the fixture tore its containers down (project {project})"


@pytest.mark.slow
def test_installed_wheel_outside_the_repo(user_dir: Path, tmp_path: Path) -> None:
    """`pip install <the package>` into a fresh venv: the plugin is registered and finds its assets."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = str(venv / "bin" / "python")
    install = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(REPO), "pytest"],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    (user_dir / "test_user.py").write_text(USER_TEST)
    result = run_user_pytest(user_dir, "--stackctl-runtime", "native", python=py)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
