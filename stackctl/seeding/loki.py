"""Loki push sink: ``POST /loki/api/v1/push`` with the documented JSON body.

``{"streams": [{"stream": {labels}, "values": [["<unix ns as string>", "line"], ...]}]}``,
entries ascending per stream (Loki rejects out-of-order entries within a stream).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import requests

from stackctl.errors import SeedError
from stackctl.seeding.loggen import Entries
from stackctl.seeding.outage import Backlog, Outage, Progress


def build_push_payload(entries: Entries) -> dict[str, Any]:
    """Pure: the push body for ``entries`` (stream labels -> [(ns, line)]), sorted per stream."""
    streams = []
    for key, values in entries.items():
        if not values:
            continue
        ordered = sorted(values, key=lambda v: v[0])
        streams.append({"stream": dict(key), "values": [[str(ns), line] for ns, line in ordered]})
    return {"streams": streams}


def _batches(entries: Entries, max_lines: int) -> list[Entries]:
    """Split per stream in time order so each request stays small and in order."""
    out: list[Entries] = []
    current: Entries = {}
    count = 0
    for key, values in entries.items():
        for i in range(0, len(values), max_lines):
            part = values[i:i + max_lines]
            if count + len(part) > max_lines and current:
                out.append(current)
                current, count = {}, 0
            current.setdefault(key, []).extend(part)
            count += len(part)
    if current:
        out.append(current)
    return out


class LokiSink:
    """``push`` (the history) retries until Loki takes each batch; ``offer`` (a live tick) never
    waits: what Loki misses is kept and pushed, oldest first, when it is back."""

    def __init__(self, url: str, *, progress: Progress | None = None, give_up_after: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, outage: Outage | None = None,
                 max_lines: int = 1_000_000) -> None:
        self.endpoint = url.rstrip("/") + "/loki/api/v1/push"
        self.give_up_after, self.sleep = give_up_after, sleep
        self.outage = outage or Outage("loki", progress)
        self.session = requests.Session()
        self.lines = 0
        self.backlog: Backlog[dict[str, Any]] = Backlog(max_lines)
        self.drop_note: str | None = None
        self._resent = 0

    def push(self, entries: Entries, max_lines: int = 5000) -> int:
        sent = 0
        for batch in _batches(entries, max_lines):
            payload = build_push_payload(batch)
            self._post(payload)
            sent += _count(payload)
        self.lines += sent
        return sent

    def offer(self, entries: Entries, max_lines: int = 5000) -> int:
        """Queue ``entries``, push what Loki takes now; returns the lines delivered."""
        held = self.backlog.count
        for batch in _batches(entries, max_lines):
            payload = build_push_payload(batch)
            newest = max((int(v[0]) for st in payload["streams"] for v in st["values"]), default=0)
            if self.backlog.add(newest // 1_000_000, _count(payload), payload):
                self.drop_note = f"dropped {self.backlog.dropped:,} log lines: the outage backlog is full"
                self.outage.progress(f"warning: loki: {self.drop_note}")
        if not len(self.backlog) or not self.outage.due():
            return 0
        was_down = self.outage.down
        sent, problem = self.backlog.flush(self._try)
        self.lines += sent
        if problem is not None:
            self.outage.failed(problem)
        if was_down:
            self._resent += min(sent, held)  # not this tick's own lines
            if problem is None:
                self.outage.recovered(f"{self._resent:,} log lines of the outage pushed")
                self._resent = 0
        return sent

    def _post(self, payload: dict[str, Any]) -> None:
        start = time.monotonic()
        while True:
            problem = self._try(payload)
            if problem is None:
                self.outage.recovered("the batches it held back were pushed")
                return
            if time.monotonic() - start > self.give_up_after:
                raise SeedError(f"Loki push kept failing for {self.give_up_after:.0f}s: {problem}")
            self.sleep(self.outage.failed(problem))

    def _try(self, payload: dict[str, Any]) -> str | None:
        """None when Loki took it, else the transient problem; SeedError when it refuses."""
        try:
            resp = self.session.post(self.endpoint, json=payload, timeout=30)
        except (requests.ConnectionError, requests.Timeout) as exc:
            return f"cannot reach {self.endpoint} ({type(exc).__name__})"
        if resp.status_code < 300:
            return None
        if resp.status_code < 500 and resp.status_code != 429:
            raise SeedError(f"Loki rejected the push (HTTP {resp.status_code}): {resp.text.strip()[:500]}",
                            hint="entries older than Loki's reject_old_samples_max_age are refused; "
                                 "use a shorter --history")
        return f"HTTP {resp.status_code} from {self.endpoint}"


def _count(payload: dict[str, Any]) -> int:
    return sum(len(s["values"]) for s in payload["streams"])
