"""Value ranges by the Prometheus naming conventions.

A metric's name says its unit (``_seconds``, ``_bytes``, ``_ratio``, ``_percent``,
``_celsius``) and often its role (``up``, ``_info``, a ``MemTotal`` whole and a
``MemAvailable`` part of it). ``profile`` turns that into a level and a spread; ``whole_of``
pairs a part with its whole so the part is drawn below it, and ratios of the two make sense.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Literal

Kind = Literal["counter", "gauge", "histogram", "info"]
GIB = 1024.0**3
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BYTES_BUCKETS = (100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)
PLAIN_BUCKETS = (1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0)
_WHOLE = re.compile(r"(^|_)(total|size|limit|limits|capacity|max|allocatable)(_|$)|MemTotal|SwapTotal", re.I)
_PART = re.compile(r"avail|free|used|usage|cached|buffers|rss|working_set|requests|MemAvailable|MemFree|"
                   r"Cached|Buffers|Active|Inactive|Slab|Dirty|files$", re.I)
# last_*_seconds is a timestamp (last_gc_time_seconds), unless it measures a span (last_duration_seconds)
_TIMESTAMP = re.compile(r"timestamp|_time_seconds$|boot_time|start_time|last_(?!\w*(duration|latency|elapsed))\w*seconds"
                        r"|created$")
# `<what>_time_seconds` that is a duration, not an instant (probe_dns_lookup_time_seconds)
_DURATION = re.compile(r"(lookup|response|processing|wait|waiting|handling|connect|connection|read|write|exec|execution|"
                       r"elapsed|spent|busy|idle|cpu|gc|pause|query|request|transfer|handshake|resolve|render|"
                       r"compile|load|sync|flush|lock)_time_seconds$")
_STATUS_CODE = re.compile(r"(^|_)(status_code|http_code|response_code)$")
_ONE = re.compile(r"(^|_)(up|ready|enabled|healthy|success|available|bool|status_ready)$")
_ZERO = re.compile(r"(^|_)(readonly|failed|failure|errors?|down|unhealthy|degraded|oom_events|panic\w*|alarm|"
                   r"alarm_\w+|reboot_required|throttled|evicted)$")
_COUNT_LIKE = re.compile(r"replicas|pods|nodes|connections|clients|threads|goroutines|fds|_count$|_number|redirects$|"
                         r"_jobs|workers|processes|queue|_length|_size_items|_keys|_items|_entries|_sessions")


@dataclass(frozen=True)
class Profile:
    """What to draw: ``level`` is a gauge's mean, or events/s of one counter/histogram series."""

    kind: Kind
    level: float
    spread: float = 0.05  # relative standard deviation of a gauge; 0: constant
    low: float | None = 0.0
    high: float | None = None
    integer: bool = False
    median: float = 0.0  # histogram observations
    p95: float = 0.0
    buckets: tuple[float, ...] = ()
    why: str = ""
    from_now: bool = False  # a timestamp: level is seconds relative to the seeding instant

    @property
    def binary(self) -> bool:
        """A 0/1 state gauge (``up``, ``pg_up``, or compared with 0/1 by the queries)."""
        return self.kind == "gauge" and self.why.startswith("a 0/1 state")


def unit_of(name: str) -> str:
    base = re.sub(r"_(total|bucket|sum|count|created)$", "", name)
    for unit in ("seconds", "bytes", "ratio", "percent", "percentage", "celsius", "bool", "info", "joules",
                 "volts", "watts", "hertz", "meters", "grams", "amperes"):
        if base.endswith("_" + unit):
            return unit
    return ""


def profile(name: str, kind: Kind, boolean: bool = False) -> Profile:
    """``boolean``: the queries compare the gauge with 0 or 1, a 0/1 state."""
    unit = unit_of(name)
    short = name.rsplit(":", 1)[-1]
    stamp = unit == "seconds" and _TIMESTAMP.search(short) and not _DURATION.search(short)
    if boolean and kind == "gauge" and not stamp:  # `max_over_time(ts[3h]) == 0` still reads a timestamp
        zero = bool(_ZERO.search(name.rsplit(":", 1)[-1]))
        return Profile("gauge", 0.0 if zero else 1.0, 0.0, why=f"a 0/1 state (compared with 0/1): {0 if zero else 1}")
    if kind == "counter":
        return _counter(name, unit)
    if kind == "histogram":
        return _histogram(unit)
    if kind == "info" or unit == "info":
        return Profile("info", 1.0, 0.0, why="info metric: value 1, the labels are the data")
    return _gauge(name, unit)


def _counter(name: str, unit: str) -> Profile:
    if unit == "seconds":
        return Profile("counter", 0.2, why="counter of seconds: 0.2 s/s (a busy CPU share)")
    if unit == "bytes":
        return Profile("counter", 250_000.0, why="counter of bytes: ~250 kB/s")
    if re.search(r"error|fail|drop|reject|timeout", name):
        return Profile("counter", 0.2, why="error counter: 0.2/s")
    return Profile("counter", 5.0, why="counter: 5 events/s per series")


def _histogram(unit: str) -> Profile:
    if unit == "seconds":
        return Profile("histogram", 5.0, median=0.08, p95=0.4, buckets=SECONDS_BUCKETS,
                       why="histogram of seconds: 5 obs/s, median 80ms, p95 400ms")
    if unit == "bytes":
        return Profile("histogram", 5.0, median=2000.0, p95=50_000.0, buckets=BYTES_BUCKETS,
                       why="histogram of bytes: 5 obs/s, median 2kB, p95 50kB")
    return Profile("histogram", 5.0, median=5.0, p95=40.0, buckets=PLAIN_BUCKETS,
                   why="histogram: 5 obs/s, median 5, p95 40")


def _gauge(name: str, unit: str) -> Profile:
    parts = name.split(":")
    if len(parts) == 3 and parts[1]:  # a recorded series level:metric:operations, read without its rule
        if re.search(r"ratio|utili[sz]ation|saturation", parts[1] + ":" + parts[2]):
            return Profile("gauge", 0.35, 0.1, 0.0, 1.0, why="recorded ratio: ~0.35 within [0, 1]")
        name, unit = parts[1], unit_of(parts[1])
    short = name.rsplit(":", 1)[-1]
    if re.search(r"expiry|expiration|expires|not_after", short):
        return Profile("gauge", 90 * 86400.0, 0.0, low=None, why="an expiry time: 90 days after seeding", from_now=True)
    if re.search(r"last_seen|_timestamp$|_time$|last_\w*(time|seen|success|run)", short) and unit in ("", "seconds"):
        return Profile("gauge", -30.0, 0.0, low=None, why="a timestamp: 30s before seeding (a constant: it ages "
                       "while live seeding goes on)", from_now=True)
    if _STATUS_CODE.search(short) and unit == "":
        return Profile("gauge", 200.0, 0.0, integer=True, why="an HTTP status code: 200")
    if name != "up" and _COUNT_LIKE.search(short) and unit == "":
        return Profile("gauge", 5.0, 0.0, integer=True, why="a count: 5")
    if name == "up" or _ONE.search(short):
        return Profile("gauge", 1.0, 0.0, why="a 0/1 state gauge: 1 (up, ready)")
    if _ZERO.search(short):
        return Profile("gauge", 0.0, 0.0, why="a 0/1 problem gauge: 0")
    if unit in ("ratio",) or short.endswith(("_utilisation", "_utilization", "_saturation")):
        return Profile("gauge", 0.35, 0.1, 0.0, 1.0, why="ratio: ~0.35 within [0, 1]")
    if unit in ("percent", "percentage"):
        return Profile("gauge", 35.0, 0.1, 0.0, 100.0, why="percent: ~35 within [0, 100]")
    if unit == "celsius":
        return Profile("gauge", 45.0, 0.04, why="temperature: ~45 °C")
    if unit == "seconds" and re.search(r"boot_time|start_time|created", short):
        return Profile("gauge", -259_200.0, 0.0, low=None, why="a start time: 3 days before seeding", from_now=True)
    if unit == "seconds" and _TIMESTAMP.search(short) and not _DURATION.search(short):
        return Profile("gauge", -30.0, 0.0, low=None, why="a timestamp: 30s before seeding (a constant: it ages "
                       "while live seeding goes on)", from_now=True)
    if unit == "seconds":
        return Profile("gauge", 0.1, 0.1, why="seconds: ~0.1 s")
    if unit == "bytes":
        return _bytes(name)
    if re.search(r"load(1|5|15)$", short):
        return Profile("gauge", 0.8, 0.15, why="load average ~0.8")
    if _COUNT_LIKE.search(short):
        return Profile("gauge", 5.0, 0.0, integer=True, why="a count: 5")
    return Profile("gauge", 50.0, 0.05, why="gauge: ~50")


def _bytes(name: str) -> Profile:
    disk = re.search(r"filesystem|disk|volume|storage|fs_", name)
    if _WHOLE.search(name) and not _PART.search(name.replace("MemTotal", "")):
        size = 100 * GIB if disk else 16 * GIB
        return Profile("gauge", size, 0.0, why=f"a whole in bytes: {size / GIB:.0f} GiB")
    return Profile("gauge", 2 * GIB, 0.05, why="bytes: ~2 GiB")


def is_part(name: str) -> bool:
    return bool(_PART.search(name)) and unit_of(name) == "bytes"


def is_whole(name: str) -> bool:
    return bool(_WHOLE.search(name)) and not _PART.search(name.replace("MemTotal", "").replace("SwapTotal", ""))


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[_:]", name) if t]


def whole_of(part: str, candidates: Iterable[str]) -> str | None:
    """The whole a part belongs to: the bytes gauge with the longest common name prefix."""
    best, best_len = None, 1
    pt = _tokens(part)
    for cand in candidates:
        if cand == part or not is_whole(cand) or unit_of(cand) != unit_of(part):
            continue
        ct = _tokens(cand)
        common = 0
        for a, b in zip(pt, ct):
            if a != b:
                break
            common += 1
        if common > best_len:
            best, best_len = cand, common
    return best


def part_fraction(name: str) -> float:
    """Where a part sits in its whole: free/available ~45 %, used ~40 %, cache ~15 %."""
    if re.search(r"avail|free", name, re.I):
        return 0.45
    if re.search(r"cache|buffer|slab|dirty", name, re.I):
        return 0.12
    return 0.4
