"""Backfill throughput, beside two baselines on the very same data.

* ``backfill_samples_per_s``: stackctl end to end: generate the history, encode, compress,
  remote-write it into a fresh Prometheus with ``backfill()``. The clock stops when the last
  write is acknowledged: Prometheus acknowledges a remote write after committing it to the
  head, so from then on every sample is queryable. A count query then proves all are there
  (untimed: it measures Prometheus' query engine, not ingestion).
* ``ingest_ceiling_samples_per_s``: the same requests encoded and compressed beforehand
  (untimed); only the POSTs are timed, with the same lanes and concurrency, into another
  fresh Prometheus. Nothing a client does can be faster than this.
* ``promtool_samples_per_s``: ``promtool tsdb create-blocks-from openmetrics`` on the same
  series written as OpenMetrics beforehand (untimed); only the command is timed. It writes
  blocks offline: the usual way to import history.
"""

from __future__ import annotations

import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cramjam
import requests

from benchmarks.model import Measurement
from benchmarks.openmetrics import write_openmetrics
from benchmarks.stacks import isolated_config, started
from stackctl.proc import run
from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.generate import PhaseTimeline, Series, advance_all, build_generators, grid
from stackctl.seeding.remote_write import HEADERS, backfill, encode_write_request, plan_lanes

FIGURES = ("backfill_samples_per_s", "promtool_samples_per_s", "ingest_ceiling_samples_per_s",
           "backfill_vs_promtool_ratio", "backfill_vs_ceiling_ratio")
# What `stackctl seed` uses (backfill()'s defaults), passed explicitly so the ceiling
# replays the same request sizes with the same concurrency.
MAX_SAMPLES, THREADS = 250_000, 3


@dataclass(frozen=True)
class Dataset:
    """A fixed history: the same series and values every run (only "now" moves)."""

    scenario: str
    history_s: float
    step_s: float
    random_seed: int = 8

    def generate(self, end_ms: int) -> list[Series]:
        sc = load_scenario(self.scenario)
        gens = build_generators(sc, PhaseTimeline(sc.phases, end_ms), self.random_seed, self.step_s)
        return advance_all(gens, grid(end_ms, self.history_s, self.step_s))


def sample_count(series: Sequence[Series]) -> int:
    return sum(len(s.values) for s in series)


def count_query(url: str, series: Sequence[Series], end_ms: int, history_s: float) -> int:
    """How many of the dataset's samples Prometheus holds (all of its series, whole range).

    One query per metric name: count_over_time drops the name, so one regex over all names
    would collide where two metrics share a label set (a histogram's _sum and _count)."""
    window = f"{int(history_s) + 120}s"
    return sum(_instant_count(url, f"sum(count_over_time({name}[{window}]))", end_ms / 1000 + 1)
               for name in sorted({s.name for s in series}))


def _instant_count(url: str, query: str, at: float, attempts: int = 10) -> int:
    """The query's single value (0 when empty). Retries only "cannot populate chunk ...: not
    found": Prometheus 2.42 returns it when head compaction, which a 20 h backfill triggers
    at once, moves a chunk between the query's index lookup and its chunk read."""
    attempt = 1
    while True:
        params: dict[str, str | float] = {"query": query, "time": at}
        body = requests.get(f"{url}/api/v1/query", params=params, timeout=120).json()
        if body.get("status") == "success":
            result = body["data"]["result"]
            return int(float(result[0]["value"][1])) if result else 0
        error = str(body.get("error"))
        if "cannot populate chunk" not in error or attempt >= attempts:
            raise RuntimeError(f"count query {query!r} failed (attempt {attempt}): {error}")
        attempt += 1
        time.sleep(1.0)


def _confirm(url: str, series: Sequence[Series], end_ms: int, history_s: float, what: str) -> None:
    found, expected = count_query(url, series, end_ms, history_s), sample_count(series)
    if found != expected:
        raise RuntimeError(f"{what}: Prometheus holds {found:,} of the {expected:,} samples written")


def stackctl_backfill(state_root: Path, data: Dataset) -> tuple[float, int]:
    """Samples/s of generation + backfill() into a fresh Prometheus; and the sample count."""
    cfg = isolated_config(state_root, "native", ("prometheus",))
    with started(cfg):
        url = cfg.url("prometheus")
        end_ms = int(time.time() * 1000)
        begin = time.perf_counter()
        series = data.generate(end_ms)
        backfill(url, series, max_samples=MAX_SAMPLES, threads=THREADS)
        seconds = time.perf_counter() - begin
        _confirm(url, series, end_ms, data.history_s, "stackctl backfill")
    return sample_count(series) / seconds, sample_count(series)


def _encoded_lanes(series: Sequence[Series]) -> list[list[bytes]]:
    """The exact requests backfill() would send, encoded and compressed."""
    return [[bytes(cramjam.snappy.compress_raw(encode_write_request(chunks))) for chunks in lane]
            for lane in plan_lanes(series, MAX_SAMPLES, THREADS * 2)]


def _post_lane(endpoint: str, lane: list[bytes]) -> None:
    with requests.Session() as session:
        for body in lane:
            resp = session.post(endpoint, data=body, headers=HEADERS, timeout=120)
            if resp.status_code >= 300:
                raise RuntimeError(f"Prometheus rejected a pre-encoded request: HTTP {resp.status_code}: {resp.text[:300]}")


def ingest_ceiling(state_root: Path, series: Sequence[Series], end_ms: int, history_s: float) -> float:
    lanes = _encoded_lanes(series)
    cfg = isolated_config(state_root, "native", ("prometheus",))
    with started(cfg):
        url = cfg.url("prometheus")
        endpoint = f"{url}/api/v1/write"
        begin = time.perf_counter()
        with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="ceiling") as pool:
            list(pool.map(lambda lane: _post_lane(endpoint, lane), lanes))
        seconds = time.perf_counter() - begin
        _confirm(url, series, end_ms, history_s, "ingest ceiling")
    return sample_count(series) / seconds


def _block_samples(out_dir: Path) -> int:
    """Samples in the blocks promtool wrote (``promtool tsdb list``'s NUM SAMPLES column)."""
    lines = run(["promtool", "tsdb", "list", str(out_dir)], timeout=120).stdout.splitlines()
    # a tabwriter table: header cells are separated by 2+ spaces, data cells have none inside
    header = re.split(r"\s{2,}", lines[0].strip()) if lines else []
    column = next((i for i, h in enumerate(header) if h.strip() == "NUM SAMPLES"), None)
    if column is None:
        raise RuntimeError(f"unexpected `promtool tsdb list` output: {lines[:2]}")
    return sum(int(line.split()[column]) for line in lines[1:] if line.strip())


def promtool_blocks(series: Sequence[Series]) -> float:
    with tempfile.TemporaryDirectory(prefix="stackctl-bench-promtool-") as tmp:
        source, out_dir = Path(tmp) / "history.om.txt", Path(tmp) / "blocks"
        write_openmetrics(series, source)
        begin = time.perf_counter()
        run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(out_dir)], timeout=1800)
        seconds = time.perf_counter() - begin
        written = _block_samples(out_dir)
    if written != sample_count(series):
        raise RuntimeError(f"promtool wrote {written:,} of the {sample_count(series):,} samples")
    return sample_count(series) / seconds


def backfill_rates(state_root: Path, data: Dataset) -> Measurement:
    """One run of all three on the same dataset, and the ratios of this run."""
    ours, samples = stackctl_backfill(state_root, data)
    end_ms = int(time.time() * 1000)
    series = data.generate(end_ms)  # the same values again, untimed, for both baselines
    ceiling = ingest_ceiling(state_root, series, end_ms, data.history_s)
    promtool = promtool_blocks(series)
    values = {"backfill_samples_per_s": ours, "promtool_samples_per_s": promtool, "ingest_ceiling_samples_per_s": ceiling,
              "backfill_vs_promtool_ratio": ours / promtool, "backfill_vs_ceiling_ratio": ours / ceiling}
    notes = {"scenario": data.scenario, "samples": samples, "series": len(series), "history_s": data.history_s,
             "step_s": data.step_s, "random_seed": data.random_seed, "max_samples_per_request": MAX_SAMPLES,
             "threads": THREADS}
    return Measurement(values, notes)
