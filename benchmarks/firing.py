"""Time to firing: from the start of ``seed`` until the scenario's alert fires and its
notification is in the sink (issue 16), on a native stack.

Seeding writes the history, restores the alerts' ``for:`` state from it (``ALERTS_FOR_STATE``
and a Prometheus restart, see ``stackctl.seeding.alert_state``), and Alertmanager routes the
firing alert to the notification sink. The clock stops when the sink holds it.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import requests

from benchmarks.model import Measurement
from benchmarks.stacks import isolated_config, started
from benchmarks.verification import RANDOM_SEED, seed_targets
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.engine import seed
from stackctl.seeding.restore_hook import alert_state_hook
from stackctl.verify.alerts import notifications

SCENARIO, ALERT = "preview-failures", "PreviewGenerationHighFailureRate"
POLL_S = 0.1


def _firing(prom_url: str) -> bool:
    alerts = requests.get(prom_url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return any(a["labels"].get("alertname") == ALERT and a["state"] == "firing" for a in alerts)


def time_to_firing(state_root: Path, timeout: float = 60.0) -> Measurement:
    cfg = isolated_config(state_root, "native", ("prometheus", "alertmanager"))
    with started(cfg):
        sc = load_scenario(SCENARIO)
        targets = seed_targets(cfg)
        said: list[str] = []
        begin = time.perf_counter()
        seed(sc, targets, timedelta(seconds=sc.history), duration=0, random_seed=RANDOM_SEED,
             after_history=alert_state_hook(cfg, targets, sc.history, said.append))
        seeded = time.perf_counter() - begin
        fired: float | None = None
        while True:
            elapsed = time.perf_counter() - begin
            if fired is None and _firing(cfg.url("prometheus")):
                fired = elapsed
            if fired is not None and any(n.alertname == ALERT and n.status == "firing"
                                         for n in notifications(cfg.url("notify-sink"))):
                break
            if elapsed > timeout:
                raise RuntimeError(f"{ALERT} not firing and notified {timeout:.0f}s after seed began: {said}")
            time.sleep(POLL_S)
    return Measurement({"time_to_firing_s": elapsed},
                       {"scenario": SCENARIO, "alert": ALERT, "seed_returned_s": round(seeded, 2),
                        "firing_in_prometheus_s": round(fired, 2), "seed_said": said})
