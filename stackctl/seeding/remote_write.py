"""Prometheus remote write 1.0: a vectorised protobuf encoder and a retrying sender.

Why numpy: with millisecond timestamps in [2^35, 2^42) (years 1971-2109) every timestamp
varint is exactly 6 bytes, so every ``Sample`` is the same 18 bytes -- tag 0x12, length 0x10,
0x09 + little-endian double, 0x10 + 6-byte varint -- and a series' samples are one (N, 18)
uint8 array. Labels are encoded once per series chunk. Pure-Python protobuf spent three
quarters of the backfill time encoding; this makes encoding a small share of it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import cramjam
import numpy as np
import requests

from stackctl.errors import SeedError
from stackctl.seeding.generate import Labels, Series
from stackctl.seeding.outage import Backlog, Outage

_TS_MIN, _TS_MAX = 1 << 35, 1 << 42
HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "stackctl-seed",
}
Progress = Callable[[str], None]


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field_bytes(field: int, payload: bytes) -> bytes:
    return bytes([(field << 3) | 2]) + varint(len(payload)) + payload


def encode_labels(labels: Labels) -> bytes:
    """Repeated ``Label`` (TimeSeries field 1); caller passes them sorted by name."""
    return b"".join(
        _field_bytes(1, _field_bytes(1, k.encode()) + _field_bytes(2, v.encode())) for k, v in labels
    )


def encode_samples(timestamps: np.ndarray, values: np.ndarray) -> bytes:
    """Repeated ``Sample`` (TimeSeries field 2), 18 bytes each, built in one numpy pass."""
    ts = np.asarray(timestamps, dtype=np.int64)
    if ts.size and (int(ts.min()) < _TS_MIN or int(ts.max()) >= _TS_MAX):
        raise ValueError("timestamps must be epoch milliseconds in [2^35, 2^42)")
    out = np.empty((ts.size, 18), dtype=np.uint8)
    out[:, 0], out[:, 1], out[:, 2], out[:, 11] = 0x12, 0x10, 0x09, 0x10
    out[:, 3:11] = np.ascontiguousarray(values, dtype="<f8").view(np.uint8).reshape(-1, 8)
    u = ts.astype(np.uint64)
    for i in range(5):
        out[:, 12 + i] = ((u >> np.uint64(7 * i)) & np.uint64(0x7F)) | np.uint64(0x80)
    out[:, 17] = u >> np.uint64(35)
    return out.tobytes()


def encode_write_request(chunks: Sequence[tuple[bytes, np.ndarray, np.ndarray]]) -> bytes:
    """``WriteRequest`` from (encoded labels, timestamps, values) chunks."""
    parts: list[bytes] = []
    for label_bytes, ts, values in chunks:
        samples = encode_samples(ts, values)
        parts += [b"\x0a", varint(len(label_bytes) + len(samples)), label_bytes, samples]
    return b"".join(parts)


def _hint_for(body: str) -> str | None:
    low = body.lower()
    if "out of order" in low or "too old" in low or "out of bounds" in low:
        return ("Prometheus refuses samples this old: enable an out-of-order window "
                "(storage: tsdb: out_of_order_time_window: 24h in prometheus.yml) or use a shorter --history")
    if "remote write receiver" in low or "not found" in low:
        return "start Prometheus with --web.enable-remote-write-receiver"
    return None


class RemoteWriter:
    """POSTs write requests over keep-alive sessions (one per thread), retrying outages.

    ``send`` (the history) retries connection errors, 5xx and 429 with backoff and resends the
    same request, so nothing is dropped; ``try_send`` (a live tick) tries once and leaves the
    retrying to a ``LiveRemoteWrite``. Either way ``outage`` reports an outage once when it
    starts and once when it ends. Other 4xx are a SeedError.
    """

    def __init__(self, url: str, *, progress: Progress | None = None, timeout: float = 30.0,
                 give_up_after: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 outage: Outage | None = None) -> None:
        self.endpoint = url.rstrip("/") + "/api/v1/write"
        self.timeout, self.give_up_after, self.sleep = timeout, give_up_after, sleep
        self.outage = outage or Outage("prometheus", progress)
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def send(self, raw: bytes) -> None:
        """Compress and POST one encoded WriteRequest; retries until accepted or ``give_up_after``."""
        body = bytes(cramjam.snappy.compress_raw(raw))
        start = time.monotonic()
        while True:
            problem = self._try(body, self.timeout)
            if problem is None:
                self.outage.recovered("the requests it held back were resent")
                return
            if time.monotonic() - start > self.give_up_after:
                raise SeedError(f"remote write to {self.endpoint} kept failing for {self.give_up_after:.0f}s: {problem}",
                                hint="is Prometheus running and healthy? check its log")
            self.sleep(self.outage.failed(problem))

    def try_send(self, raw: bytes) -> str | None:
        """One attempt: None when accepted, else the transient problem (SeedError if refused)."""
        return self._try(bytes(cramjam.snappy.compress_raw(raw)), min(self.timeout, 10.0))

    def _try(self, body: bytes, timeout: float) -> str | None:
        """None on success, a description of a transient failure, or raises SeedError."""
        try:
            resp = self._session().post(self.endpoint, data=body, headers=HEADERS, timeout=timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            return f"cannot reach {self.endpoint} ({type(exc).__name__})"
        if resp.status_code < 300:
            return None
        text = resp.text.strip()[:500]
        # Prometheus 2.x answers 500 to a sample older than its out-of-order window: retrying
        # cannot help, the sample only gets older.
        if resp.status_code == 429 or (resp.status_code >= 500 and "too old" not in text.lower()):
            return f"HTTP {resp.status_code} from {self.endpoint}"
        raise SeedError(f"Prometheus rejected remote write (HTTP {resp.status_code}): {text}", hint=_hint_for(text))


class LiveRemoteWrite:
    """The live ticks' remote write: never blocks a tick on a dead Prometheus.

    Each tick's samples join a backlog, sent oldest first whenever the writer's outage backoff
    allows; after an outage the backlog is resent in order (series stay in time order, so no
    out-of-order window is needed). Samples older than ``window_s`` (Prometheus would refuse
    them) or beyond ``max_samples`` waiting are dropped and counted in ``dropped``.
    """

    def __init__(self, writer: RemoteWriter, window_s: float, *, max_samples: int = 5_000_000) -> None:
        self.writer, self.window_ms = writer, int(window_s * 1000)
        self.backlog: Backlog[bytes] = Backlog(max_samples)
        self.drop_note: str | None = None
        self._resent = 0

    @property
    def pending(self) -> int:
        return self.backlog.count

    @property
    def dropped(self) -> int:
        return self.backlog.dropped

    def offer(self, series: Sequence[Series], now_ms: int) -> int:
        """Queue ``series`` and send what Prometheus will take now; returns the samples delivered."""
        count, held = sum(len(s.values) for s in series), self.backlog.count
        if count:
            last = max(int(s.timestamps[-1]) for s in series if len(s.timestamps))
            chunks = [(encode_labels(s.labels), s.timestamps, s.values) for s in series if len(s.values)]
            self._note(self.backlog.add(last, count, encode_write_request(chunks)), "the backlog is full")
        self._note(self.backlog.drop_older_than(now_ms - self.window_ms), "older than Prometheus accepts")
        outage = self.writer.outage
        if not self.backlog.count or not outage.due():
            return 0
        was_down = outage.down
        sent, problem = self.backlog.flush(self.writer.try_send)
        if problem is not None:
            outage.failed(problem)
        if was_down:
            self._resent += min(sent, held)  # not this tick's own samples
            if problem is None:
                outage.recovered(f"{self._resent:,} samples of the outage resent")
                self._resent = 0
        return sent

    def _note(self, dropped: int, why: str) -> None:
        if dropped:
            self.drop_note = f"dropped {self.dropped:,} samples in all ({dropped:,} now: {why})"
            self.writer.outage.progress(f"warning: prometheus: {self.drop_note}")


@dataclass(frozen=True)
class BackfillStats:
    samples: int
    series: int
    requests: int
    seconds: float

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0


Chunk = tuple[bytes, np.ndarray, np.ndarray]


def plan_lanes(series: Sequence[Series], max_samples: int, lanes: int) -> list[list[list[Chunk]]]:
    """Split series into lanes of requests.

    Series are grouped into ``lanes`` groups of similar size; a group larger than
    ``max_samples`` is cut into time slices. A lane's requests are sent in order, so every
    series is appended in time order even with several threads (no out-of-order ingestion).
    """
    total = sum(len(s.values) for s in series)
    n_groups = max(1, min(len(series), lanes))
    bounds = np.linspace(0, total, n_groups + 1)[1:]
    groups: list[list[Series]] = [[] for _ in range(n_groups)]
    acc = 0
    for s in series:
        g = min(int(np.searchsorted(bounds, acc, side="right")), n_groups - 1)
        groups[g].append(s)
        acc += len(s.values)
    return [_slice_group(g, max_samples) for g in groups if g]


def _slice_group(group: list[Series], max_samples: int) -> list[list[Chunk]]:
    size = sum(len(s.values) for s in group)
    slices = max(1, -(-size // max_samples))
    requests_: list[list[Chunk]] = [[] for _ in range(slices)]
    for s in group:
        labels = encode_labels(s.labels)
        cuts = np.linspace(0, len(s.values), slices + 1).astype(int)
        for j in range(slices):
            a, b = cuts[j], cuts[j + 1]
            if b > a:
                requests_[j].append((labels, s.timestamps[a:b], s.values[a:b]))
    return [r for r in requests_ if r]


def backfill(url: str, series: Sequence[Series], *, max_samples: int = 250_000, threads: int = 3,
             progress: Progress | None = None, writer: RemoteWriter | None = None) -> BackfillStats:
    """Write all ``series`` to Prometheus at ``url``; returns when every sample is accepted."""
    start = time.monotonic()
    writer = writer or RemoteWriter(url, progress=progress)
    lanes = plan_lanes(series, max_samples, threads * 2)

    def run(lane: list[list[Chunk]]) -> int:
        for chunks in lane:
            writer.send(encode_write_request(chunks))
        return len(lane)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="remote-write") as pool:
        sent = sum(pool.map(run, lanes))
    return BackfillStats(samples=sum(len(s.values) for s in series), series=len(series),
                         requests=sent, seconds=time.monotonic() - start)
