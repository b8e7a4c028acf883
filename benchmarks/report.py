"""The time ``stackctl report --all`` takes: every panel of every shipped dashboard queried
and drawn (matplotlib, SVG) into the HTML file, on a native stack seeded with all-healthy.

Timed from the call to ``build_report`` until ``write_report`` has written the file; matplotlib
is imported beforehand (untimed: it is a one-off ~0.5 s per process, shown in ``meta``).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from benchmarks.model import Measurement
from benchmarks.stacks import isolated_config, started
from benchmarks.verification import RANDOM_SEED, seed_targets
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.engine import seed

SCENARIO = "all-healthy"


def report_time(state_root: Path) -> Measurement:
    from stackctl.report.build import build_report, write_report
    from stackctl.verify.run import VerifyOptions

    imported = time.perf_counter()
    from stackctl.report import page  # noqa: F401  (matplotlib, untimed)

    import_s = time.perf_counter() - imported
    cfg = isolated_config(state_root, "native")
    out = state_root / f"report-{cfg.project}.html"
    with started(cfg):
        sc = load_scenario(SCENARIO)
        seed(sc, seed_targets(cfg), timedelta(seconds=sc.history), duration=0, random_seed=RANDOM_SEED)
        begin = time.perf_counter()
        report = build_report(cfg, VerifyOptions(scenario=SCENARIO, all_packs=True))
        queried = time.perf_counter()
        write_report(report, out)
        elapsed = time.perf_counter() - begin
    counts = Counter(v.status for v in report.verdicts)
    notes = {"scenario": SCENARIO, "dashboards": len(report.dashboards), "panels": len(report.panels),
             "verdicts": dict(counts), "query_s": round(queried - begin, 3), "draw_s": round(elapsed - (queried - begin), 3),
             "matplotlib_import_s": round(import_s, 3), "html_bytes": out.stat().st_size}
    return Measurement({"report_s": elapsed}, notes)
