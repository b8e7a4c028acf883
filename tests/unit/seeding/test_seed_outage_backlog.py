"""Outage reporting, backoff and the backlog that keeps what a sink missed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import numpy as np
import pytest

from stackctl.seeding.generate import Series
from stackctl.seeding.outage import Backlog, Outage
from stackctl.seeding.remote_write import LiveRemoteWrite, RemoteWriter


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_reported_once_and_its_end_with_its_duration() -> None:
    said: list[str] = []
    clock = FakeTime()
    outage = Outage("prometheus", said.append, monotonic=clock, wall=clock)
    assert outage.recovered() is None and said == []
    delays = []
    for _ in range(6):
        delays.append(outage.failed("connection refused"))
        clock.now += 1
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]  # exponential, capped
    assert said == [("warning: prometheus is down (connection refused); retrying with backoff, "
                     "what it misses is kept and resent when it is back")]
    assert outage.describe() and "connection refused" in (outage.describe() or "")
    assert outage.recovered("12 samples of the outage resent") == 6.0
    assert said[1] == "prometheus is back after 6.0s down: 12 samples of the outage resent"
    assert not outage.down and outage.describe() is None and len(outage.history) == 1
    outage.failed("again")  # a second outage is a second report
    assert len(said) == 3


def test_backoff_spaces_attempts_only_while_down() -> None:
    clock = FakeTime()
    outage = Outage("redis", monotonic=clock)
    assert outage.due()
    outage.failed("x")
    assert not outage.due()
    clock.now += 0.5
    assert outage.due()


def test_backlog_flushes_oldest_first_and_stops_at_a_failure() -> None:
    backlog: Backlog[str] = Backlog(max_count=100)
    for i in range(3):
        backlog.add(last_ms=i, count=10, payload=f"b{i}")
    sent: list[str] = []

    def send(payload: str) -> str | None:
        if payload == "b1" and "b1" not in sent:
            sent.append("b1")
            return "down"
        sent.append(payload)
        return None

    assert backlog.flush(send) == (10, "down") and backlog.count == 20
    assert backlog.flush(send) == (20, None) and backlog.count == 0
    assert sent == ["b0", "b1", "b1", "b2"]


def test_backlog_drops_only_what_cannot_be_delivered_and_counts_it() -> None:
    backlog: Backlog[int] = Backlog(max_count=25)
    assert backlog.add(1, 10, 1) == 0 and backlog.add(2, 10, 2) == 0
    assert backlog.add(3, 10, 3) == 10  # over the bound: the oldest goes
    assert backlog.drop_older_than(3) == 10 and backlog.count == 10 and backlog.dropped == 20
    assert backlog.drop_all() == 10 and backlog.dropped == 30 and len(backlog) == 0
    with pytest.raises(ValueError):
        Backlog(0)


class _Receiver(BaseHTTPRequestHandler):
    up = False
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).up:
            type(self).bodies.append(body)
        self.send_response(204 if type(self).up else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"up": False, "bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _tick(ms: int) -> list[Series]:
    return [Series((("__name__", "x_total"),), np.array([ms], dtype=np.int64), np.array([1.0]))]


def test_live_remote_write_keeps_the_outage_and_resends_it_in_order(receiver: tuple[str, type[_Receiver]]) -> None:
    url, handler = receiver
    said: list[str] = []
    clock = FakeTime()
    writer = RemoteWriter(url, outage=Outage("prometheus", said.append, monotonic=clock))
    live = LiveRemoteWrite(writer, window_s=3600)
    t0 = 1_700_000_000_000
    delivered = [live.offer(_tick(t0 + i * 1000), t0 + i * 1000) for i in range(3)]  # 503: down
    clock.now += 1  # backoff
    assert delivered == [0, 0, 0] and live.pending == 3 and writer.outage.down
    handler.up = True
    clock.now += 10
    assert live.offer(_tick(t0 + 3000), t0 + 3000) == 4
    assert live.pending == 0 and live.dropped == 0 and len(handler.bodies) == 4
    assert len(said) == 2 and said[0].startswith("warning: prometheus is down (HTTP 503")
    assert said[1] == "prometheus is back after 11.0s down: 3 samples of the outage resent"


def test_live_remote_write_counts_what_is_older_than_the_window(receiver: tuple[str, type[_Receiver]]) -> None:
    url, _handler = receiver
    said: list[str] = []
    live = LiveRemoteWrite(RemoteWriter(url, progress=said.append), window_s=10)
    t0 = 1_700_000_000_000
    live.offer(_tick(t0), t0)
    live.offer([], t0 + 20_000)  # still down, and the first sample is now too old
    assert live.dropped == 1 and live.pending == 0
    assert live.drop_note and "older than Prometheus accepts" in live.drop_note
    assert any(m.startswith("warning: prometheus: dropped 1 samples") for m in said)
