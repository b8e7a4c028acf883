"""Synthesis figures (issue 15): speed, and coverage of typical public dashboards and rules.

* ``synth_infer_history_s``: inference from 10 dashboards (~400 panels) plus generating 30 min
  of history for every series it infers, in process; ``synth_seed_s``: the same written into
  a native Prometheus (``stackctl seed --from`` end to end, history only).
* ``synth_panels_populated_pct``: share of the public-style dashboards' Prometheus panels
  that ``verify`` finds populated after ``seed --from`` (dashboards + rule files);
* ``synth_alerts_pending_pct``: share of the public-style rule files' alerts that reach pending
  (or firing) with their own generated firing scenario, each on a fresh native Prometheus;
  ``synth_quiet_raised``: alerts pending or firing under the quiet scenario (goal: 0).

``python -m benchmarks.synthesis [--json] [--coverage] [--alerts N]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from benchmarks.model import Measurement
from benchmarks.stacks import isolated_config, started
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.engine import SeedTargets, seed
from stackctl.seeding.generate import PhaseTimeline, advance_all, build_generators, grid
from stackctl.seeding.synth import collect
from stackctl.seeding.synth.pipeline import generate, scenario_of

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "synth"
PUBLIC, RULES = FIXTURES / "public", FIXTURES / "rules"
HISTORY_S = 1800.0
_NAME = re.compile(r"\b([a-z_][a-z0-9_]*_(?:total|bucket|sum|count|bytes|seconds|info|ratio|celsius)|up)\b")


def bench_dashboards(folder: Path, count: int = 10, panels: int = 40) -> list[Path]:
    """``count`` dashboards of ``panels`` panels, cycling the public-style fixtures' panels with
    a per-dashboard metric prefix (so each dashboard reads its own service's metrics)."""
    sources = [json.loads(p.read_text()) for p in sorted(PUBLIC.glob("*.json"))]
    pool = [p for d in sources for p in _flat(d) if p.get("targets")]
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        prefix = f"svc{k}_"
        chosen = [json.loads(json.dumps(pool[(k * 7 + i) % len(pool)])) for i in range(panels)]
        for i, p in enumerate(chosen):
            p["id"] = i + 1
            for t in p["targets"]:
                t["expr"] = _NAME.sub(rf"{prefix}\g<1>", t.get("expr", ""))
        dash = {"title": f"Service {k}", "uid": f"svc-{k}", "schemaVersion": 39, "panels": chosen,
                "time": {"from": "now-1h", "to": "now"}, "templating": {"list": []}}
        path = folder / f"svc-{k}.json"
        path.write_text(json.dumps(dash))
        out.append(path)
    return out


def _flat(dash: dict[str, Any]) -> list[dict[str, Any]]:
    panels = list(dash.get("panels") or []) + [p for r in dash.get("rows") or [] for p in r.get("panels") or []]
    return [q for p in panels for q in ([p] + list(p.get("panels") or []))]


def synth_speed(state_root: Path) -> Measurement:
    folder = state_root / "dashboards"
    paths = bench_dashboards(folder)
    begin = time.perf_counter()
    g = generate(paths)
    sc = scenario_of(g)
    end_ms = int(time.time() * 1000)
    series = advance_all(build_generators(sc, PhaseTimeline(sc.phases, end_ms), 1, sc.step), grid(end_ms, HISTORY_S, sc.step))
    in_process = time.perf_counter() - begin
    samples = sum(len(s.values) for s in series)
    cfg = isolated_config(state_root, "native", ("prometheus",))
    with started(cfg):
        begin = time.perf_counter()
        seed(scenario_of(generate(paths)), SeedTargets(prometheus_url=cfg.url("prometheus")), timedelta(seconds=HISTORY_S),
             duration=0, random_seed=1)
        end_to_end = time.perf_counter() - begin
    return Measurement({"synth_infer_history_s": round(in_process, 3), "synth_seed_s": round(end_to_end, 3)},
                       {"dashboards": len(paths), "panels": g.inputs.panels, "metrics": len(g.plan.model.metrics),
                        "series": len(series), "samples": samples})


def _states(url: str) -> dict[str, str]:
    body = requests.get(url + "/api/v1/rules", params={"type": "alert"}, timeout=10).json()
    return {r["name"]: r["state"] for grp in body["data"]["groups"] for r in grp["rules"]}


def _raised_by_synthesized(url: str) -> dict[str, str]:
    """Active alerts, except those the stack's real self-scraped series raise (instance
    127.0.0.1:port; e.g. PrometheusNotConnectedToAlertmanagers on a stack without one)."""
    alerts = requests.get(url + "/api/v1/alerts", timeout=10).json()["data"]["alerts"]
    return {a["labels"]["alertname"]: a["state"] for a in alerts
            if not str(a["labels"].get("instance", "")).startswith(("127.0.0.1", "localhost"))}


def _settle(url: str, after: float, timeout: float = 60) -> None:
    """Wait until every rule group was evaluated after ``after`` (and once more, for pending)."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        groups = requests.get(url + "/api/v1/rules", timeout=10).json()["data"]["groups"]
        stamps = [_epoch(g.get("lastEvaluation", "")) for g in groups]
        if stamps and min(stamps) > after:
            seen += 1
            if seen >= 2:
                return
            after = max(stamps)
        time.sleep(0.5)


def _epoch(stamp: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _stack_with(state_root: Path, name: str, rules: list[Path], dashboards: list[Path]) -> Any:
    root = state_root / name
    root.mkdir(parents=True)
    lines = ["rules:"] + [f"  - {p}" for p in rules] if rules else []
    lines += (["dashboards:"] + [f"  - {p}" for p in dashboards]) if dashboards else []
    (root / "stackctl.yaml").write_text("\n".join(lines) + "\n")
    # Prometheus alone: a real Alertmanager's own series (every integration, no latency
    # observations) would mix with the synthesized ones on the Alertmanager dashboard.
    return isolated_config(root, "native", ("prometheus",))


def panels_and_quiet(state_root: Path) -> Measurement:
    from stackctl.verify.run import VerifyOptions, verify_stack

    state_root.mkdir(parents=True, exist_ok=True)
    rules = sorted(RULES.glob("*.yaml"))
    cfg = _stack_with(state_root, "quiet", rules, [PUBLIC])
    with started(cfg):
        g = generate([PUBLIC, *rules])
        path = state_root / "quiet.yaml"
        path.write_text(g.text)
        seed(load_scenario(str(path)), SeedTargets(prometheus_url=cfg.url("prometheus")), timedelta(minutes=30),
             duration=0, random_seed=2)
        _settle(cfg.url("prometheus"), time.time())
        report = verify_stack(cfg, VerifyOptions((PUBLIC,)))
        titles = {json.loads(p.read_text()).get("title") for p in PUBLIC.glob("*.json")}
        panels = [r for r in report.results if r.kind == "panel" and r.status != "skipped" and r.dashboard in titles]
        populated = [r for r in panels if r.status == "populated"]
        raised = _raised_by_synthesized(cfg.url("prometheus"))
    empty = [f"{r.dashboard} / {r.panel}: {r.detail}" for r in panels if r.status != "populated"]
    return Measurement({"synth_panels_populated_pct": round(100 * len(populated) / max(len(panels), 1), 1),
                        "synth_quiet_raised": float(len(raised))},
                       {"verified_panels": len(panels), "populated": len(populated), "not_populated": empty, "raised": raised})


def alerts_pending(state_root: Path, limit: int | None = None) -> Measurement:
    state_root.mkdir(parents=True, exist_ok=True)
    rules = sorted(RULES.glob("*.yaml"))
    cases = [(f, r.name) for f in rules for r in collect.collect([f]).rules if r.kind == "alert"][:limit]
    reached: list[str] = []
    missed: dict[str, Any] = {}
    unsolved: dict[str, Any] = {}
    for i, (rule_file, alert) in enumerate(cases):
        g = generate([rule_file], "firing", alert)
        outcome = next(o for o in g.plan.outcomes if o.rule.name == alert)
        if not outcome.solved:
            unsolved[alert] = outcome.note
        path = state_root / f"firing-{i}.yaml"
        path.write_text(g.text)
        sc = load_scenario(str(path))
        cfg = _stack_with(state_root, f"alert-{i}", [rule_file], [])
        with started(cfg):
            seed(sc, SeedTargets(prometheus_url=cfg.url("prometheus")), timedelta(seconds=sc.history), duration=0,
                 random_seed=3)
            _settle(cfg.url("prometheus"), time.time())
            state = _states(cfg.url("prometheus")).get(alert, "missing")
        (reached.append(alert) if state in ("pending", "firing") else missed.__setitem__(alert, state))
    return Measurement({"synth_alerts_pending_pct": round(100 * len(reached) / max(len(cases), 1), 1)},
                       {"alerts": len(cases), "reached": len(reached), "missed": missed, "unsolved": unsolved})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synthesis", description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--coverage", action="store_true", help="also measure panel and alert coverage (minutes)")
    parser.add_argument("--alerts", type=int, default=None, help="only the first N alerts")
    args = parser.parse_args(argv)

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # so every started stack is torn down

    signal.signal(signal.SIGTERM, interrupt)
    root = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    try:
        parts = [synth_speed(root / "speed")]
        if args.coverage:
            for run in (lambda: panels_and_quiet(root / "panels"), lambda: alerts_pending(root / "alerts", args.alerts)):
                parts.append(run())
                sys.stderr.write(json.dumps(parts[-1].values) + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    values = {k: v for m in parts for k, v in m.values.items()}
    notes = {k: v for m in parts for k, v in m.notes.items()}
    if args.json:
        sys.stdout.write(json.dumps({"figures": values, "meta": notes}, indent=2, default=str) + "\n")
    else:
        for k, v in values.items():
            sys.stderr.write(f"{k}: {v}\n")
        sys.stderr.write(json.dumps(notes, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
