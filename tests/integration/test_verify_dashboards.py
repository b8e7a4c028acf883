"""verify on the dashboards users bring, against a real Prometheus holding series shaped like
node_exporter's and a FastAPI exporter's (remote-written by the test): legacy rows, library
panels, repeats, query variables run live, PostgreSQL panels skipped, annotations checked, each
dashboard once, `x unless y` not blamed on y."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from helpers import isolated_env, require_binaries, stackctl
from stackctl.config import Config, load_config
from stackctl.render.configs import rendered_root
from stackctl.seeding.generate import Series, make_labels
from stackctl.seeding.remote_write import backfill
from stackctl.stack import orchestrator as stack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dashboards"
HISTORY_S, STEP_S = 1800, 15
Verified = tuple[dict[str, Any], int, str, str, Path]  # report, exit code, stderr, Prometheus URL, the folder


def _series(name: str, labels: dict[str, str], values: np.ndarray, start_ms: int) -> Series:
    ts = start_ms + np.arange(len(values), dtype=np.int64) * STEP_S * 1000
    return Series(make_labels(name, labels), ts, values.astype(np.float64))


def exporter_series(now: float) -> list[Series]:
    """node_exporter on two hosts, a FastAPI app, and the app metrics the fixtures read."""
    n = HISTORY_S // STEP_S
    start = int((now - HISTORY_S) * 1000)
    ramp, flat = np.arange(n, dtype=np.float64), np.ones(n)
    out = []
    for host in ("web-1", "web-2"):
        inst = {"instance": f"{host}:9100", "job": "node"}
        out.append(_series("node_uname_info", {**inst, "nodename": host, "sysname": "Linux"}, flat, start))
        out.append(_series("node_load1", inst, 0.5 * flat, start))
        out.append(_series("node_disk_io_time_seconds_total", {**inst, "device": "sda"}, 0.2 * ramp, start))
        for mode in ("idle", "user", "system"):
            out.append(_series("node_cpu_seconds_total", {**inst, "cpu": "0", "mode": mode}, 3.0 * ramp, start))
    for app in ("shop-api", "billing"):
        out.append(_series("fastapi_app_info", {"app_name": app, "job": "fastapi"}, flat, start))
        for path in ("/", "/items"):
            out.append(_series("fastapi_requests_total", {"app_name": app, "method": "GET", "path": path, "status_code": "200"}, 10 * ramp, start))
    # an exporter that stopped 20 minutes ago: a range panel still shows it, an instant one does not
    out.append(_series("legacy_jobs_total", {"job": "cron"}, ramp[: n // 3], start))
    for job, inst in (("api", "api-1:8000"), ("worker", "wk-1:8000"), ("shop", "shop-1:8000")):
        labels = {"job": job, "instance": inst}
        out += [_series("up", labels, flat, start), _series("app_build_info", {**labels, "version": "1.2"}, flat, start),
                _series("app_requests_total", labels, 5 * ramp, start), _series("app_gc_seconds_total", labels, 0.01 * ramp, start)]
        for le in ("0.1", "0.5", "+Inf"):
            out.append(_series("app_request_seconds_bucket", {**labels, "le": le}, (1 + float(le.replace("+Inf", "2"))) * ramp, start))
    return out


def fastapi_dashboard() -> dict[str, Any]:
    """What a FastAPI exporter ships: a query variable whose saved value went stale, one saved
    empty, one with no series at all, an `unless` panel and a broken annotation."""
    def panel(pid: int, title: str, expr: str, **extra: Any) -> dict[str, Any]:
        return {"id": pid, "type": "timeseries", "title": title, "gridPos": {"x": 0, "y": pid * 8, "w": 12, "h": 8},
                "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "targets": [{"refId": "A", "expr": expr}], **extra}

    return {
        "title": "FastAPI Observability", "uid": "fastapi-obs", "schemaVersion": 37, "time": {"from": "now-24h", "to": "now"},
        "__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}],
        "templating": {"list": [
            {"name": "app_name", "type": "query", "query": "label_values(fastapi_app_info, app_name)",
             "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "current": {"text": "old-app", "value": "old-app"}},
            {"name": "path", "type": "query", "query": "label_values(fastapi_requests_total{app_name=\"$app_name\"}, path)",
             "current": {"text": "", "value": ""}},
            {"name": "apps", "type": "query", "query": "label_values(fastapi_app_info, app_name)", "multi": True,
             "includeAll": True, "current": {"text": ["All"], "value": ["$__all"]}},
            # kubernetes-mixin style: a `cluster` label a single-cluster setup does not have
            {"name": "cluster", "type": "query", "query": 'label_values(node_uname_info{job="node"}, cluster)', "hide": 2,
             "current": {}},
            {"name": "host", "type": "query", "query": "label_values(windows_os_info, instance)", "current": {}},
        ]},
        "panels": [
            panel(1, "Requests", 'sum(rate(fastapi_requests_total{app_name="$app_name", path="$path"}[$__rate_interval]))'),
            panel(2, "Per path", 'sum by (path) (rate(fastapi_requests_total{app_name="$apps"}[$__rate_interval]))',
                  repeat="apps"),
            panel(3, "Windows hosts", 'windows_cpu_time_total{instance="$host"}'),
            panel(4, "Not billing", 'fastapi_requests_total unless fastapi_requests_billing_total'),
            {**panel(5, "Cron now", "legacy_jobs_total"), "targets": [{"refId": "A", "expr": "legacy_jobs_total", "instant": True}]},
            panel(6, "Cron over the day", "legacy_jobs_total"),
            panel(7, "Load (one cluster)", 'node_load1{cluster="$cluster"}'),
        ],
        "annotations": {"list": [
            {"name": "Broken", "enable": True, "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "expr": "sum(rate(x[5m]) /"},
            {"name": "Restarts", "enable": True, "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
             "expr": 'changes(node_uname_info{instance=~"web.*"}[5m]) > 0'},
        ]},
    }


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verified]:
    """One stack (Prometheus only, no packs), the series written, verify run once over the
    dashboards folder given both in stackctl.yaml and with --dashboards."""
    require_binaries("prometheus")
    root = tmp_path_factory.mktemp("verify-dash")
    mine = root / "mine"
    mine.mkdir()
    for name in ("legacy-rows.json", "library-export.json", "postgres-mixed.json", "rows-collapsed-repeat.json", "schema-v2.json"):
        shutil.copy(FIXTURES / name, mine / name)
    (mine / "fastapi.json").write_text(json.dumps(fastapi_dashboard()))
    (root / "stackctl.yaml").write_text("packs: []\ndashboards: [mine]\n")
    env = isolated_env(root, ("prometheus",), STACKCTL_RUNTIME="native")
    cfg: Config = load_config(env=env, cwd=root)
    try:
        stack.up(cfg)
        backfill(cfg.url("prometheus"), exporter_series(time.time()))
        # `up` provisioned the PostgreSQL dashboard instead of refusing it: its Prometheus input is
        # mapped, the PostgreSQL one kept (Grafana reports only those panels)
        rendered = json.loads((rendered_root(cfg) / "grafana" / "dashboards" / "user-mine" / "postgres-mixed.json").read_text())
        assert rendered["panels"][1]["datasource"] == {"uid": "prometheus"}
        assert rendered["panels"][0]["datasource"]["uid"] == "${DS_POSTGRES}" and rendered["__inputs"][0]["name"] == "DS_POSTGRES"
        result = stackctl("verify", "--dashboards", str(mine), "--json", env=env, cwd=root, timeout=120)
        yield json.loads(result.stdout or "{}"), result.returncode, result.stderr, cfg.url("prometheus"), mine
    finally:
        stack.down(cfg, volumes=True)


def _rows(report: dict[str, Any], dashboard: str) -> dict[str, dict[str, Any]]:
    return {r["panel"]: r for r in report["results"] if r["dashboard"] == dashboard}


@pytest.mark.native
def test_each_dashboard_checked_once(verified: Verified) -> None:
    report, code, stderr = verified[:3]
    assert code == 1, stderr  # the Windows panel and the broken annotation fail, as they should
    assert sorted(report["dashboards"]) == sorted(["Legacy Node (rows layout)", "App with library panels", "Shop (Prometheus and PostgreSQL)",
                                                    "Service (rows, collapsed rows and repeats)", "FastAPI Observability",
                                                    "Node (schema v2)"])


@pytest.mark.native
def test_each_file_validated_once(verified: Verified) -> None:
    """The static half (h18's check of the files as Grafana loads them) names each file once too."""
    files = [r["dashboard"] for r in verified[0]["results"] if r["kind"] == "dashboard" and r["panel"] == "(file)"]
    assert len(files) == len(set(files)) == 6, files


@pytest.mark.native
def test_legacy_rows_are_checked_with_the_variable_run_live(verified: Verified) -> None:
    rows = _rows(verified[0], "Legacy Node (rows layout)")
    assert set(rows) == {"CPU busy", "Load", "Disk IO (instance=web-1:9100)", "Disk IO (instance=web-2:9100)"}
    assert all(r["status"] == "populated" for r in rows.values()), rows
    # stale saved "stale:9100": Grafana selects the first option, All, of the live values
    assert 'instance=~"(web-1:9100|web-2:9100)"' in rows["Load"]["query"]
    # 24h over a half-width panel (~940 px): $__interval 2m, $__rate_interval 2m + 15s scrape
    assert rows["CPU busy"]["query"].endswith("[135s]))")


@pytest.mark.native
def test_query_variables_stale_and_empty_saved_values_and_repeats(verified: Verified) -> None:
    rows = _rows(verified[0], "FastAPI Observability")
    assert rows["Requests"]["status"] == "populated", rows["Requests"]
    assert 'app_name="billing", path="/"' in rows["Requests"]["query"]  # first live values, not "old-app" or ".*"
    assert rows["Per path (apps=billing)"]["status"] == rows["Per path (apps=shop-api)"]["status"] == "populated"
    assert 'app_name="shop-api"' in rows["Per path (apps=shop-api)"]["query"]  # one value per copy
    windows = rows["Windows hosts"]
    assert windows["status"] == "empty"
    assert windows["detail"] == "variable `host` has no values: no series of `windows_os_info`"
    assert rows["Not billing"]["status"] == "populated"
    assert rows["Cron over the day"]["status"] == "populated"
    # Grafana sends `cluster=""`, which matches the series without the label: the panel has data
    load = rows["Load (one cluster)"]
    assert load["status"] == "populated" and load["query"] == 'node_load1{cluster=""}'
    assert "variable `cluster` has no values: the series of `node_uname_info{job=\"node\"}` have no label `cluster`" in load["detail"]
    assert rows["Cron now"]["status"] == "empty" and "instant" in rows["Cron now"]["detail"]


@pytest.mark.native
def test_annotations_are_checked(verified: Verified) -> None:
    rows = _rows(verified[0], "FastAPI Observability")
    assert rows["annotation Broken"]["status"] == "error" and "parse error" in rows["annotation Broken"]["detail"]
    assert rows["annotation Restarts"]["status"] == "ok"
    shop = _rows(verified[0], "Shop (Prometheus and PostgreSQL)")
    assert shop["annotation Deploys"]["status"] == "ok"


@pytest.mark.native
def test_postgres_and_library_panels_are_skipped_with_reasons(verified: Verified) -> None:
    shop = _rows(verified[0], "Shop (Prometheus and PostgreSQL)")
    assert shop["Orders (SQL)"]["status"] == "skipped" and shop["Orders (SQL)"]["detail"].startswith("grafana-postgresql-datasource datasource")
    assert shop["Request rate"]["status"] == "populated" and shop["Mixed"]["status"] == "populated"
    assert shop["Mixed"]["detail"].endswith("; 1 grafana-postgresql-datasource query not run")
    assert shop["About"]["detail"] == "no queries (text panel)"
    lib = _rows(verified[0], "App with library panels")
    assert lib["Requests per second"]["status"] == "populated"
    assert lib["panel 2"]["status"] == "skipped" and "Shared latency" in lib["panel 2"]["detail"]


@pytest.mark.native
def test_rows_repeats_and_chained_variables(verified: Verified) -> None:
    rows = _rows(verified[0], "Service (rows, collapsed rows and repeats)")
    assert {k: v["status"] for k, v in rows.items()} == {
        "Up": "populated", "Latency $instance (instance=api-1:8000)": "populated",
        "Latency $instance (instance=wk-1:8000)": "populated", "GC (job=api)": "populated", "GC (job=worker)": "populated"}


@pytest.mark.native
def test_grafana_12_schema_v2(verified: Verified) -> None:
    rows = _rows(verified[0], "Node (schema v2)")
    assert {k: v["status"] for k, v in rows.items() if not k.startswith("annotation")} == {
        "Load": "populated", "CPU $instance (instance=web-1:9100)": "populated", "CPU $instance (instance=web-2:9100)": "populated",
        "Shared": "skipped"}
    assert rows["annotation Reboots"]["status"] == "ok"


@pytest.mark.native
def test_unless_does_not_need_its_right_side(verified: Verified) -> None:
    metrics = {r["panel"]: r for r in verified[0]["results"] if r["kind"] == "metric"}
    assert "fastapi_requests_billing_total" not in metrics
    assert "windows_cpu_time_total" not in metrics or metrics["windows_cpu_time_total"]["status"] == "empty"


@pytest.mark.native
def test_one_panel_copy_checked_on_its_own(verified: Verified) -> None:
    """``check_panel`` (what ``stackctl report`` uses) gives the verdict verify gave."""
    from stackctl.dashboards import load_dashboard
    from stackctl.verify.client import Prometheus
    from stackctl.verify.dashboards import check_panel, resolve_dashboards

    prom = Prometheus(verified[3])
    (d,) = resolve_dashboards([load_dashboard(verified[4] / "fastapi.json")], prom)
    verdicts = {p.title: check_panel(d, p, prom, None).status for p in d.panels}
    assert verdicts["Requests"] == "populated" and verdicts["Windows hosts"] == "empty"
