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

Progress = Callable[[str], None]


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
    def __init__(self, url: str, *, progress: Progress | None = None, give_up_after: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = url.rstrip("/") + "/loki/api/v1/push"
        self.progress = progress or (lambda _m: None)
        self.give_up_after, self.sleep = give_up_after, sleep
        self.session = requests.Session()
        self.lines = 0
        self._reported = False

    def push(self, entries: Entries, max_lines: int = 5000) -> int:
        sent = 0
        for batch in _batches(entries, max_lines):
            payload = build_push_payload(batch)
            self._post(payload)
            sent += sum(len(s["values"]) for s in payload["streams"])
        self.lines += sent
        return sent

    def _post(self, payload: dict[str, Any]) -> None:
        start, delay = time.monotonic(), 0.2
        while True:
            try:
                resp = self.session.post(self.endpoint, json=payload, timeout=30)
                if resp.status_code < 300:
                    return
                if resp.status_code < 500 and resp.status_code != 429:
                    raise SeedError(f"Loki rejected the push (HTTP {resp.status_code}): {resp.text.strip()[:500]}",
                                    hint="entries older than Loki's reject_old_samples_max_age are refused; "
                                         "use a shorter --history")
                problem = f"HTTP {resp.status_code}"
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"cannot reach {self.endpoint} ({type(exc).__name__})"
            if time.monotonic() - start > self.give_up_after:
                raise SeedError(f"Loki push kept failing for {self.give_up_after:.0f}s: {problem}")
            if not self._reported:
                self._reported = True
                self.progress(f"loki: {problem}; retrying with backoff (nothing is dropped)")
            self.sleep(delay)
            delay = min(delay * 2, 5.0)
