"""Surviving a sink's outage while seeding: report it once, back off, keep what was not sent.

A live tick never waits for a dead sink. What a sink could not accept waits in its
``Backlog`` and is resent, oldest first, when the sink answers again, so each series still
arrives in time order and the outage window has no gap. ``Outage`` says so twice: one line when
the sink goes away, one when it is back (with how long it was gone). Only what can never be
delivered -- older than the sink accepts, or beyond the backlog's bound -- is dropped, and
then it is counted, never silent.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

Progress = Callable[[str], None]
T = TypeVar("T")


def _clock(wall_s: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall_s))


class Outage:
    """One sink's outage state, shared by every thread that writes to it.

    ``failed`` on each failed attempt (only the first of an outage is reported) and
    ``recovered`` once what the outage held back is delivered (reported with its duration).
    While down, ``due`` spaces attempts out with an exponential backoff.
    """

    def __init__(self, sink: str, progress: Progress | None = None, *, first_delay: float = 0.5,
                 max_delay: float = 5.0, monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        if first_delay <= 0 or max_delay < first_delay:
            raise ValueError("need 0 < first_delay <= max_delay")
        self.sink, self.progress = sink, progress or (lambda _m: None)
        self.first_delay, self.max_delay = first_delay, max_delay
        self._monotonic, self._wall = monotonic, wall
        self._lock = threading.Lock()
        self._since: float | None = None  # monotonic start of the current outage
        self._since_wall = 0.0
        self._delay, self._next = first_delay, 0.0
        self.problem: str | None = None
        self.history: list[str] = []  # one line per outage that ended

    @property
    def down(self) -> bool:
        return self._since is not None

    def due(self) -> bool:
        """Whether to try the sink now (always while it is up)."""
        return self._since is None or self._monotonic() >= self._next

    def failed(self, problem: str) -> float:
        """Record a failed attempt; returns the delay before the next one."""
        with self._lock:
            now = self._monotonic()
            if self._since is None:
                self._since, self._since_wall, self._delay = now, self._wall(), self.first_delay
                self.progress(f"warning: {self.sink} is down ({problem}); retrying with backoff, "
                              "what it misses is kept and resent when it is back")
            else:
                self._delay = min(self._delay * 2, self.max_delay)
            self.problem = problem
            self._next = now + self._delay
            return self._delay

    def recovered(self, detail: str = "") -> float | None:
        """End the current outage (if any) and report it; returns how long it lasted."""
        with self._lock:
            if self._since is None:
                return None
            lasted = self._monotonic() - self._since
            self._since, self.problem = None, None
            tail = f": {detail}" if detail else ""
            self.history.append(f"{self.sink} down {lasted:.1f}s from {_clock(self._since_wall)}{tail}")
            self.progress(f"{self.sink} is back after {lasted:.1f}s down{tail}")
            return lasted

    def describe(self) -> str | None:
        """The current outage, for a status line; None while the sink is up."""
        if self._since is None:
            return None
        return f"{self.sink} down since {_clock(self._since_wall)}: {self.problem}"


@dataclass
class Batch(Generic[T]):
    last_ms: int  # the newest timestamp in it: a batch is dropped whole, when all of it is too old
    count: int  # samples, log lines or stream entries
    payload: T


class Backlog(Generic[T]):
    """What a sink has not accepted yet, oldest first, bounded to ``max_count`` items."""

    def __init__(self, max_count: int) -> None:
        if max_count <= 0:
            raise ValueError("max_count must be positive")
        self.max_count = max_count
        self._batches: deque[Batch[T]] = deque()
        self.count = 0  # items waiting
        self.dropped = 0  # items given up for good

    def __len__(self) -> int:
        return len(self._batches)

    def add(self, last_ms: int, count: int, payload: T) -> int:
        """Queue a batch; returns how many items the bound made it drop (oldest first)."""
        self._batches.append(Batch(last_ms, count, payload))
        self.count += count
        dropped = 0
        while self.count > self.max_count and len(self._batches) > 1:
            dropped += self._pop().count
        self.dropped += dropped
        return dropped

    def drop_older_than(self, ms: int) -> int:
        """Drop the batches wholly older than ``ms`` (the sink would refuse them)."""
        dropped = 0
        while self._batches and self._batches[0].last_ms < ms:
            dropped += self._pop().count
        self.dropped += dropped
        return dropped

    def drop_all(self) -> int:
        """Give up on everything still waiting (the seeder stops); returns how much."""
        return self.drop_older_than(2**63 - 1)

    def flush(self, send: Callable[[T], str | None]) -> tuple[int, str | None]:
        """Send batches oldest first until one fails; returns (items sent, the failure or None).

        ``send`` returns None on success or a transient problem; anything it raises propagates
        with the batch still queued.
        """
        sent = 0
        while self._batches:
            problem = send(self._batches[0].payload)
            if problem is not None:
                return sent, problem
            sent += self._pop().count
        return sent, None

    def _pop(self) -> Batch[T]:
        batch = self._batches.popleft()
        self.count -= batch.count
        return batch
