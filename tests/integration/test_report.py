"""``stackctl report`` against a real native stack seeded with preview-failures: one chart per
panel holding exactly the series Prometheus returns, empty panels saying so, the pending alert,
one PNG per panel, and a headless Chromium (network off) drawing every panel's region.
The pytest plugin's ``--stackctl-report`` writes the report at the end and on a failure."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from helpers import isolated_env, require_binaries, require_docker, skip_or_fail, stackctl
from stackctl.config import Config, load_config
from stackctl.stack import orchestrator as stack

SERVICES = ("prometheus", "alertmanager", "pushgateway", "redis")
BINARIES = ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")
SCENARIO = "preview-failures"
ALERT = "PreviewGenerationHighFailureRate"
DATA = re.compile(r'<script type="application/json" id="stackctl-report-data">(.*?)</script>', re.S)
TYPO = {"title": "Typo Board", "time": {"from": "now-1h", "to": "now"},
        "annotations": {"list": [{"name": "deep queue", "enable": True, "iconColor": "purple", "datasource": {"type": "prometheus", "uid": "prometheus"},
                                  "expr": "max(preview_generation_queue_depth) > 4"}]},
        "panels": [
    {"type": "timeseries", "title": "Request rate", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
     "targets": [{"refId": "A", "expr": "sum(rate(http_requets_total[5m]))"}]},
    {"id": 2, "type": "stat", "title": "Scrapes", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
     "targets": [{"refId": "A", "expr": "count(preview_generation_queue_depth)"}]},
    {"id": 3, "type": "stat", "title": "Scrapes again", "gridPos": {"x": 0, "y": 8, "w": 12, "h": 8},
     "datasource": {"type": "datasource", "uid": "-- Dashboard --"}, "targets": [{"refId": "A", "panelId": 2}]}]}


def _alerts(cfg: Config) -> dict[str, str]:
    alerts = requests.get(f"{cfg.url('prometheus')}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return {a["labels"]["alertname"]: a["state"] for a in alerts}


@contextmanager
def _seeded_stack(root: Path, runtime: str) -> Iterator[tuple[Config, dict[str, str]]]:
    """A stack of the preview pack, seeded with preview-failures, its alert pending."""
    from stackctl.seeding.catalog import load_scenario
    from stackctl.seeding.engine import seed
    from stackctl.seeding.targets import resolve_targets

    env = isolated_env(root, SERVICES, STACKCTL_RUNTIME=runtime, STACKCTL_PACKS="preview")
    cfg = load_config(env=env, cwd=root)
    try:
        stack.up(cfg)
        sc = load_scenario(SCENARIO)
        seed(sc, resolve_targets(cfg), timedelta(seconds=sc.history), duration=0, random_seed=7)
        deadline = time.monotonic() + 90
        while ALERT not in _alerts(cfg) and time.monotonic() < deadline:
            time.sleep(1)
        assert ALERT in _alerts(cfg), "the seeded scenario's alert never went pending"
        yield cfg, env
    finally:
        stack.down(cfg, volumes=True)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, dict[str, str]]]:
    require_binaries(*BINARIES)
    with _seeded_stack(tmp_path_factory.mktemp("report"), "native") as live:
        yield live


@pytest.fixture(scope="module")
def written(seeded: tuple[Config, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any], str]:
    _, env = seeded
    out = tmp_path_factory.mktemp("out")
    (out / "mine").mkdir()
    (out / "mine" / "typo.json").write_text(json.dumps(TYPO))
    html_path, pngs = out / "r.html", out / "pngs"
    result = stackctl("report", "-o", str(html_path), "--png", str(pngs), "--scenario", SCENARIO, "--dashboards", str(out / "mine"), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(html_path)
    html = html_path.read_text(encoding="utf-8")
    match = DATA.search(html)
    assert match, "the report embeds its data"
    return html_path, pngs, json.loads(match.group(1)), html


def _panel_html(html: str, index: int) -> str:
    start = html.index(f'data-panel="{index}"')
    end = html.find('data-panel="', start + 10)
    return html[start:end if end > 0 else len(html)]


def _close(a: float | None, b: float) -> bool:
    return a is None and math.isnan(b) or a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.native
def test_every_panel_holds_the_series_prometheus_returns(seeded: tuple[Config, dict[str, str]], written: tuple[Path, Path, dict[str, Any], str]) -> None:
    cfg, _ = seeded
    _, _, data, html = written
    panels = data["panels"]
    preview = [p for p in panels if p["dashboard"] == "Phase 2B Preview"]
    assert [p["title"] for p in preview] == ["Preview jobs per minute", "Job outcomes (%)", "Preview queue depth",
                                              "Job duration (p95 ms)", "Finance privacy denials (per second)", "Preview job logs"]
    assert [p["status"] for p in preview] == ["populated"] * 5 + ["skipped"]
    shared = [p for p in panels if p["title"] == "Scrapes again"]  # -- Dashboard --: panel 2's results, not queried
    assert shared[0]["status"] == "skipped" and shared[0]["drawn"] and shared[0]["series"] == next(p for p in panels if p["title"] == "Scrapes")["series"]
    assert html.count('<img class="chart"') == sum(p["drawn"] for p in panels) == sum(p["status"] == "populated" for p in panels) + 1
    for p in (p for p in panels if p["status"] == "populated"):
        targets = {t["refId"]: t for t in p["targets"]}
        drawn = {(s["refId"], json.dumps(s["labels"], sort_keys=True)): s["values"] for s in p["series"]}
        for ref, target in targets.items():
            times = next(v for (r, _), v in drawn.items() if r == ref)
            start, end = times[0][0], times[-1][0]
            if target["instant"]:  # Grafana's instant query: one value at the end of the range
                body = requests.post(f"{cfg.url('prometheus')}/api/v1/query", timeout=10, data={"query": target["expr"], "time": end}).json()
                for r in body["data"]["result"]:
                    r["values"] = [r["value"]]
            else:
                body = requests.post(f"{cfg.url('prometheus')}/api/v1/query_range", timeout=10,
                                     data={"query": target["expr"], "start": start, "end": end, "step": p["step"]}).json()
            for r in body["data"]["result"]:
                mine = drawn[(ref, json.dumps(r["metric"], sort_keys=True))]
                assert [t for t, _ in mine] == [float(t) for t, _ in r["values"]], p["title"]
                assert all(_close(a, float(b)) for (_, a), (_, b) in zip(mine, r["values"])), p["title"]
            assert len(body["data"]["result"]) == sum(1 for r, _ in drawn if r == ref), p["title"]
        if not any(t["instant"] for t in targets.values()):
            assert len(p["series"][0]["values"]) >= 50  # ~200 points over the hour: the seeded 30 minutes are ~half


@pytest.mark.native
def test_empty_and_skipped_panels_say_so_and_the_alert_shows(written: tuple[Path, Path, dict[str, Any], str]) -> None:
    _, _, data, html = written
    by_title = {p["title"]: p for p in data["panels"]}
    typo, logs = by_title["Request rate"], by_title["Preview job logs"]
    assert typo["status"] == "empty" and not typo["drawn"] and by_title["Scrapes"]["status"] == "populated"
    assert typo["events"] and all(name == "deep queue" and start <= end for start, end, name in typo["events"])  # annotations
    assert not by_title["Scrapes"]["events"]  # a stat panel draws none
    assert "No data" in _panel_html(html, typo["index"]) and "http_requets_total" in _panel_html(html, typo["index"])
    assert logs["status"] == "skipped" and "Loki" in _panel_html(html, logs["index"])
    states = {a["alertname"]: a["state"] for a in data["alerts"]}
    assert states.get(ALERT) in ("pending", "firing") and ALERT in html
    assert "expected firing, Prometheus reports" in html  # the scenario expects its alert firing (seed restores it)


@pytest.mark.native
def test_one_png_per_panel(written: tuple[Path, Path, dict[str, Any], str]) -> None:
    from matplotlib import image

    _, pngs, data, _ = written
    files = sorted(pngs.glob("*.png"))
    assert len(files) == len(data["panels"])
    for f, p in zip(files, data["panels"]):
        img = image.imread(f)
        assert img.shape[:2] == (p["rect"][3], p["rect"][2]) and img.std() > 0.02, f.name


def _screenshot(page: Path, out: Path, width: int, height: int, profile: Path) -> None:
    argv = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--hide-scrollbars",
            "--disable-extensions", "--force-device-scale-factor=1", f"--user-data-dir={profile}",
            "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--screenshot={out}", f"--window-size={width},{height}", page.as_uri()]
    env = {**os.environ, "HOME": str(profile)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and out.exists(), done.stderr[-2000:]


@pytest.mark.native
@pytest.mark.chromium
def test_chromium_draws_every_panel_with_the_network_off(written: tuple[Path, Path, dict[str, Any], str], tmp_path: Path) -> None:
    from matplotlib import image

    if shutil.which("chromium") is None:
        skip_or_fail("chromium is not installed (apt-get install chromium)")
    page_path, _, data, _ = written
    shot = tmp_path / "shot.png"
    _screenshot(page_path, shot, data["page"]["width"], data["page"]["height"], tmp_path / "profile")
    img = image.imread(shot)[..., :3]
    assert img.shape[:2] == (data["page"]["height"], data["page"]["width"])
    for p in data["panels"]:
        left, top, width, height = p["rect"]
        region = img[top + 2:top + height - 2, left + 2:left + width - 2]
        assert region.std() > 0.02, f"{p['dashboard']} / {p['title']} is blank in the screenshot"
        if p["drawn"]:  # the chart itself (below the title bar) has drawn pixels, not just a background
            body = img[top + 40:top + height - 30, left + 70:left + width - 12]
            assert (abs(body - body.mean(axis=(0, 1))).sum(axis=2) > 0.25).mean() > 0.002, p["title"]


PLUGIN_TEST = textwrap.dedent(
    '''
    def test_seeds_and_passes(observability_stack):
        observability_stack.seed("preview-failures", history="30m")
        assert observability_stack.query("sum(preview_generation_queue_depth)") is not None

    def test_fails(observability_stack):
        assert observability_stack.query("vector(1)") == 2.0
    '''
)


@pytest.mark.native
def test_pytest_plugin_writes_the_report_at_the_end_and_on_failure(tmp_path: Path) -> None:
    require_binaries(*BINARIES)
    (tmp_path / "test_user.py").write_text(PLUGIN_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STACKCTL_PORT_", "STACKCTL_PROJECT", "STACKCTL_STATE_DIR"))}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--stackctl-runtime", "native",
                             "--stackctl-services", ",".join(SERVICES), "--stackctl-report", "out/report.html"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 1 and "1 failed, 1 passed" in result.stdout, result.stdout[-3000:]
    final, failure = tmp_path / "out" / "report.html", tmp_path / "out" / "report.test_fails.html"
    assert final.exists() and failure.exists(), result.stdout[-3000:]
    for path in (final, failure):
        match = DATA.search(path.read_text(encoding="utf-8"))
        assert match
        doc = json.loads(match.group(1))
        titles = {p["title"]: p["status"] for p in doc["panels"]}
        assert titles["Preview queue depth"] == "populated"
    assert f"stackctl report: {final}" in result.stdout


@pytest.mark.docker
def test_report_on_the_docker_runtime(tmp_path: Path) -> None:
    require_docker()
    with _seeded_stack(tmp_path, "docker") as (_, env):
        out = tmp_path / "r.html"
        result = stackctl("report", "-o", str(out), "--scenario", SCENARIO, env=env)
        assert result.returncode == 0, result.stderr
    match = DATA.search(out.read_text(encoding="utf-8"))
    assert match
    doc = json.loads(match.group(1))
    drawn = [p for p in doc["panels"] if p["dashboard"] == "Phase 2B Preview" and p["drawn"]]
    assert len(drawn) == 5 and all(p["series"] for p in drawn)
    assert ALERT in {a["alertname"] for a in doc["alerts"]}


@pytest.mark.native
def test_report_on_any_prometheus_by_url(seeded: tuple[Config, dict[str, str]], tmp_path: Path) -> None:
    """No stack of this project: the shipped dashboards of the scenario's pack, drawn from a
    Prometheus given by URL (as verify --prometheus-url)."""
    cfg, _ = seeded
    elsewhere = isolated_env(tmp_path, SERVICES)  # another project, nothing running
    out = tmp_path / "remote.html"
    result = stackctl("report", "-o", str(out), "--scenario", SCENARIO, "--prometheus-url", cfg.url("prometheus"), env=elsewhere)
    assert result.returncode == 0, result.stderr
    match = DATA.search(out.read_text(encoding="utf-8"))
    assert match
    doc = json.loads(match.group(1))
    assert doc["prometheus"] == cfg.url("prometheus")
    assert sum(p["drawn"] for p in doc["panels"] if p["dashboard"] == "Phase 2B Preview") == 5


@pytest.mark.native
def test_an_unreachable_prometheus_is_an_error_with_a_hint(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, SERVICES)
    result = stackctl("report", "-o", str(tmp_path / "r.html"), "--prometheus-url", "http://127.0.0.1:9", env=env)
    assert result.returncode != 0 and "cannot reach Prometheus" in result.stderr and "hint" in result.stderr.lower()
    assert not (tmp_path / "r.html").exists()
