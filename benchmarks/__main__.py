"""``python -m benchmarks [--quick] [--repeat N] [--json]``: run the benchmarks, print a
table on stderr and, with ``--json``, one JSON object on stdout (figures + ``meta``)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from benchmarks.figures import table
from benchmarks.runner import POPULATED_SCENARIO, Plan, meta, run_plan
from stackctl.seeding.scenario import format_duration


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run each: proves the runner works (CI)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per benchmark (default 3; 1 with --quick)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on stdout")
    parser.add_argument("--no-docker", action="store_true", help="skip the docker runtime's benchmarks")
    parser.add_argument("--scenario", default=POPULATED_SCENARIO, help="scenario for time_to_populated_s")
    parser.add_argument("--state-root", type=Path, default=None,
                        help="put every stack's state dir here and keep it (default: a temp dir, removed)")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def _log(message: str) -> None:
    sys.stderr.write(f"[benchmarks] {message}\n")
    sys.stderr.flush()


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # the same teardown as Ctrl-C: every stack's `finally` runs


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(repeat=args.repeat or (1 if args.quick else 3), quick=args.quick, docker=not args.no_docker, scenario=args.scenario)
    root = args.state_root or Path(tempfile.mkdtemp(prefix="stackctl-bench-"))
    signal.signal(signal.SIGTERM, _sigterm)
    load_before = os.getloadavg()
    try:
        results, notes = run_plan(plan, root, _log)
    except KeyboardInterrupt:
        _log("interrupted; every stack started so far has been torn down")
        return 130
    finally:
        if args.state_root is None:
            shutil.rmtree(root, ignore_errors=True)
    sys.stderr.write(table(results) + "\n")
    data = notes.get("backfill", {})
    if "samples" in data:
        _log(f"backfill data: {data['samples']:,} samples in {data['series']} series ({data['scenario']}, "
             f"{format_duration(data['history_s'])} at a {data['step_s']:g}s step)")
    if args.json:
        sys.stdout.write(json.dumps({**results.as_json(), "meta": meta(plan, notes, load_before)}, indent=2) + "\n")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
