"""Real Redis Streams state: entries, a consumer group, and a consumer that acks only a share.

History is written with explicit past entry ids; the consumer reads them all, acks its share,
and the rest are re-claimed with ``XCLAIM ... IDLE <age>`` so their idle time is their age.
``XPENDING`` / ``XINFO CONSUMERS`` then show a backlog that really is 10 minutes old.

The backlog metrics (seed 001's ``media_cluster_pending_jobs`` and
``media_cluster_stream_lag_seconds``) are read back FROM Redis -- the pending list and each
entry's idle time -- and never computed from the scenario's rates.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from urllib.parse import urlsplit, urlunsplit

import redis

from stackctl.errors import SeedError, UsageError
from stackctl.seeding.fields import render_fields
from stackctl.seeding.generate import PhaseTimeline, Series, make_labels, series_rng
from stackctl.seeding.outage import Backlog, Outage, Progress
from stackctl.seeding.scenario import RedisStream, template_fields

_BATCH = 2000


def connect(url: str) -> redis.Redis:
    """A client that fails fast; raises SeedError when nothing answers PING."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, decode_responses=True)
    except ValueError as exc:
        raise UsageError(f"--redis-url {redact(url)!r} is not a Redis URL: {exc}",
                         hint="use redis://host:port (or redis://:password@host:port)") from None
    try:
        client.ping()
    except redis.RedisError as exc:
        raise SeedError(f"cannot reach Redis at {redact(url)}: {exc}", hint="is the redis service up? (stackctl status)") from None
    return client


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if not parts.password:
        return url
    host_port = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host_port}"))


class StreamGen:
    """One scenario stream: what to XADD and which entries the consumer acknowledges."""

    def __init__(self, spec: RedisStream, timeline: PhaseTimeline, random_seed: int, step_s: float) -> None:
        self.spec, self.timeline = spec, timeline
        self.rng = series_rng(random_seed, "redis", spec.key)
        self.step_ms = int(round(step_s * 1000))
        self.last_ts: int | None = None
        self.field_names = {k: template_fields(v) for k, v in spec.fields.items()}

    def _param(self, k: int, name: str) -> float:
        phase = self.timeline.name(k)
        over = self.spec.phases.get(phase) if phase else None
        value = getattr(over, name) if over else None
        return float(value if value is not None else getattr(self.spec, name))

    def plan(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Entry times (ms, ascending) in the steps ending at ``ts``, and whether each is acked."""
        prev = self.last_ts if self.last_ts is not None else int(ts[0]) - self.step_ms
        self.last_ts = int(ts[-1])
        times, acked = [], []
        for a, b, k in zip(np.concatenate(([prev], ts[:-1])), ts, self.timeline.index(ts)):
            n = int(self.rng.poisson(self._param(int(k), "rate") * (b - a) / 1000.0))
            times.append(np.sort(self.rng.integers(int(a) + 1, int(b) + 1, size=n)))
            acked.append(self.rng.random(n) < self._param(int(k), "ack_share"))
        return np.concatenate(times).astype(np.int64), np.concatenate(acked).astype(bool)

    def entry(self) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, template in self.spec.fields.items():
            out[key] = template.format(**render_fields(self.field_names[key], self.rng, {}))
        return out


def _explicit_ids(times: np.ndarray) -> list[str]:
    ids, last, seq = [], -1, 0
    for t in times.tolist():
        seq = seq + 1 if t == last else 0
        last = t
        ids.append(f"{t}-{seq}")
    return ids


_TRANSIENT = (redis.ConnectionError, redis.TimeoutError)  # BusyLoadingError (restarting) is one too
Plans = list[tuple[np.ndarray, np.ndarray]]  # per generator: entry times (ms), acked


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class RedisStreamsSink:
    """Writes the scenario's streams; live, it survives a Redis outage.

    Live entries get explicit ids (their planned times), so the entries of an outage window,
    kept in a backlog, are added after it with the times they belong to: the stream reads as
    if Redis had never been away. Their delivery is back-dated too (XCLAIM IDLE), so the
    backlog metrics of the outage window are read from Redis as for the history.
    """

    def __init__(self, client: redis.Redis, gens: Sequence[StreamGen], *, progress: Progress | None = None,
                 outage: Outage | None = None, max_entries: int = 1_000_000) -> None:
        self.client, self.gens = client, list(gens)
        self.entries = 0
        self.outage = outage or Outage("redis", progress)
        self.backlog: Backlog[tuple[np.ndarray, Plans]] = Backlog(max_entries)
        self.drop_note: str | None = None
        self._top: dict[str, tuple[int, int]] = {}  # the newest id in each stream
        self._resent = 0

    def write_history(self, ts: np.ndarray, now_ms: int) -> list[Series]:
        """Recreate each stream with its past entries; return backlog metrics read from Redis."""
        out: list[Series] = []
        try:
            for g in self.gens:
                times, acked = g.plan(ts)
                self._reset(g.spec)
                ids = _explicit_ids(times)
                self._xadd(g, ids)
                self._deliver(g.spec)
                self._ack(g.spec, [i for i, a in zip(ids, acked) if a])
                self._age(g.spec, [(i, int(t)) for i, t, a in zip(ids, times, acked) if not a], now_ms)
                out += backlog_series(g.spec, ts, self.pending(g.spec, now_ms))
        except redis.RedisError as exc:
            raise SeedError(f"Redis failed while the history was written: {exc}",
                            hint="is the redis service up? (stackctl status); then seed again") from None
        return out

    def advance(self, ts: np.ndarray, now_ms: int) -> list[Series]:
        """Live: XADD the entries of ``ts`` (and any an outage held back), deliver them, ack the
        share; metrics from XPENDING. During an outage nothing is returned and nothing lost."""
        plans, held = [g.plan(ts) for g in self.gens], self.backlog.count
        dropped = self.backlog.add(int(ts[-1]), sum(len(t) for t, _ in plans), (ts, plans))
        if dropped:
            self.drop_note = f"dropped {self.backlog.dropped:,} stream entries: the outage backlog is full"
            self.outage.progress(f"warning: redis: {self.drop_note}")
        if not self.outage.due():
            return []
        was_down, before = self.outage.down, self.entries
        out: list[Series] = []

        def send(batch: tuple[np.ndarray, Plans]) -> None:
            out.extend(self._write_batch(batch[0], batch[1], now_ms, late=batch[0] is not ts))

        try:
            if was_down:
                self._reopen()
            self.backlog.flush(send)
        except _TRANSIENT as exc:
            self.outage.failed(f"{type(exc).__name__}: {exc}")
        if was_down:
            self._resent += min(self.entries - before, held)  # not this tick's own entries
            if not len(self.backlog):  # all of it is in
                self.outage.recovered(f"{self._resent:,} stream entries of the outage added with their own times")
                self._resent = 0
        return _merge(out)

    def _reopen(self) -> None:
        """After an outage: the group may be gone (an empty restart) and the newest id moved."""
        for g in self.gens:
            try:
                self.client.xgroup_create(g.spec.key, g.spec.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            top = self.client.xinfo_stream(g.spec.key)["last-generated-id"]
            self._top[g.spec.key] = _id_key(str(top))

    def _write_batch(self, ts: np.ndarray, plans: Plans, now_ms: int, late: bool) -> list[Series]:
        out: list[Series] = []
        for g, (times, acked) in zip(self.gens, plans):
            ids = _explicit_ids(times)
            top = self._top.get(g.spec.key)
            fresh = [i for i in ids if top is None or _id_key(i) > top]
            self.entries += len(ids) - len(fresh)  # added by an attempt whose reply was lost
            self._xadd(g, fresh)
            self._deliver(g.spec)
            self._ack(g.spec, [i for i, a in zip(ids, acked) if a])
            if late:
                self._age(g.spec, [(i, int(t)) for i, t, a in zip(ids, times, acked) if not a], now_ms)
                out += backlog_series(g.spec, ts, self.pending(g.spec, now_ms))
            else:
                out += self.live_backlog(g.spec, ts)
        return out

    def _reset(self, spec: RedisStream) -> None:
        # The scenario owns its stream: past ids can only be added to an empty stream.
        self.client.delete(spec.key)
        self.client.xgroup_create(spec.key, spec.group, id="0", mkstream=True)

    def _xadd(self, g: StreamGen, ids: list[str]) -> list[str]:
        added: list[str] = []
        for i in range(0, len(ids), _BATCH):
            pipe = self.client.pipeline(transaction=False)
            for entry_id in ids[i:i + _BATCH]:
                pipe.xadd(g.spec.key, g.entry(), id=entry_id)
            done = pipe.execute()
            added += done
            self.entries += len(done)
            if done:
                self._top[g.spec.key] = _id_key(str(done[-1]))
        return added

    def _deliver(self, spec: RedisStream) -> None:
        while self.client.xreadgroup(spec.group, spec.consumer, {spec.key: ">"}, count=10_000):
            pass

    def _ack(self, spec: RedisStream, ids: list[str]) -> None:
        for i in range(0, len(ids), _BATCH):
            self.client.xack(spec.key, spec.group, *ids[i:i + _BATCH])

    def _age(self, spec: RedisStream, pending: list[tuple[str, int]], now_ms: int) -> None:
        """Set each pending entry's idle time to its age, as if delivered when it was added."""
        for i in range(0, len(pending), _BATCH):
            pipe = self.client.pipeline(transaction=False)
            for entry_id, t in pending[i:i + _BATCH]:
                pipe.xclaim(spec.key, spec.group, spec.consumer, 0, [entry_id], idle=max(now_ms - t, 0), justid=True)
            pipe.execute()

    def pending(self, spec: RedisStream, now_ms: int) -> np.ndarray:
        """Delivery times (ms) of every pending entry, from XPENDING's idle times."""
        count = int(self.client.xpending(spec.key, spec.group)["pending"])
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        rows = self.client.xpending_range(spec.key, spec.group, min="-", max="+", count=count)
        return np.sort(np.array([now_ms - int(r["time_since_delivered"]) for r in rows], dtype=np.int64))

    def live_backlog(self, spec: RedisStream, ts: np.ndarray) -> list[Series]:
        summary = self.client.xpending(spec.key, spec.group)
        count = int(summary["pending"])
        idle = 0
        if count:
            rows = self.client.xpending_range(spec.key, spec.group, min="-", max="+", count=100)
            idle = max(int(r["time_since_delivered"]) for r in rows)
        return _metric_series(spec, ts, np.full(len(ts), float(count)), np.full(len(ts), idle / 1000.0))


def _merge(series: list[Series]) -> list[Series]:
    """One Series per label set: the batches of an outage and the tick after it, in time order."""
    by_labels: dict[Any, list[Series]] = {}
    for item in series:
        by_labels.setdefault(item.labels, []).append(item)
    return [parts[0] if len(parts) == 1 else
            Series(labels, np.concatenate([p.timestamps for p in parts]), np.concatenate([p.values for p in parts]))
            for labels, parts in by_labels.items()]


def backlog_series(spec: RedisStream, ts: np.ndarray, delivered: np.ndarray) -> list[Series]:
    """Pending count and oldest-pending idle at each ``ts`` from the entries' delivery times."""
    count = np.searchsorted(delivered, ts, side="right").astype(float)
    oldest = delivered[0] if delivered.size else 0
    lag = np.where(count > 0, (ts - oldest) / 1000.0, 0.0)
    return _metric_series(spec, ts, count, lag)


def _metric_series(spec: RedisStream, ts: np.ndarray, count: np.ndarray, lag: np.ndarray) -> list[Series]:
    out = []
    if spec.pending_metric:
        out.append(Series(make_labels(spec.pending_metric, spec.metric_labels), ts, count))
    if spec.lag_metric:
        out.append(Series(make_labels(spec.lag_metric, spec.metric_labels), ts, lag))
    return out


def build_stream_generators(specs: Sequence[RedisStream], timeline: PhaseTimeline, random_seed: int,
                            step_s: float) -> list[StreamGen]:
    return [StreamGen(s, timeline, random_seed, step_s) for s in specs]
