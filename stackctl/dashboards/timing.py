"""Time ranges and intervals as Grafana computes them for a Prometheus or Loki query.

Grafana (pkg/promlib ``calculatePrometheusInterval`` and the ``intervalv2`` calculator):

* ``interval = range / maxDataPoints`` rounded to a "nice" interval (``round_interval``), at
  least the min interval: the target's min step, else the panel's ``interval``, else the
  datasource's scrape interval (``timeInterval``), else 15 s; and at least ``range / 11000``
  (Prometheus' point limit). ``maxDataPoints`` is the panel's, else its width in pixels, which
  we estimate from ``gridPos.w`` on a 1920 px screen.
* ``$__rate_interval = max($__interval + scrape, 4 * scrape)``.
* ``$__range`` is the time range in seconds (``86400s``); ``$__auto`` is ``$__interval`` for
  range queries and ``$__range`` for instant ones (Grafana 11).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

DEFAULT_SCRAPE = 15.0
SAFE_RESOLUTION = 11000
SCREEN_PX = 1880  # the dashboard area of a 1920 px wide window
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)")
_REL = re.compile(r"^now(?:([+-])(\d+)([smhdwMy]))?(?:/([smhdwMy]))?$")
# Grafana's roundInterval table: (upper bound, nice interval), milliseconds.
_NICE = ((15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000), (3500, 2000),
         (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000), (45000, 30000), (90000, 60000),
         (210000, 120000), (450000, 300000), (1050000, 600000), (2100000, 1200000), (5400000, 1800000),
         (9000000, 3600000), (16200000, 7200000), (32400000, 10800000), (86400000, 21600000),
         (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000))


@dataclass(frozen=True)
class TimeRange:
    """Epoch seconds; ``from_text``/``to_text`` keep what the dashboard wrote."""

    start: float
    end: float

    @property
    def range(self) -> float:
        return self.end - self.start

    @classmethod
    def parse(cls, from_: str, to: str, now: float) -> TimeRange:
        start, end = parse_time(from_, now), parse_time(to, now)
        return cls(end - 3600, end) if end <= start else cls(start, end)


def parse_duration(text: Any) -> float | None:
    """``"1m"``, ``"30s"``, ``"1h30m"``, ``">15s"`` (Grafana's min-interval form) -> seconds."""
    if text is None:
        return None
    s = str(text).strip().lstrip(">").strip()
    if not s:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)  # a bare number: seconds
    parts = _DURATION.findall(s)
    if not parts or "".join(a + b for a, b in parts) != s:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


def parse_time(value: Any, now: float) -> float:
    """Grafana's ``time.from``/``time.to``: ``now``, ``now-6h``, ``now/d``, epoch ms, ISO dates.
    Rounding (``/d``) is ignored: checks care about the span, not the alignment."""
    text = str(value).strip()
    m = _REL.match(text)
    if m:
        shift = int(m.group(2)) * _UNITS[m.group(3)] if m.group(2) else 0
        return now - shift if m.group(1) != "+" else now + shift
    if text.isdigit():
        return int(text) / 1000.0
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return now - 3600  # unreadable: Grafana's fallback, the last hour
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def panel_range(base: TimeRange, time_from: str | None, time_shift: str | None) -> TimeRange:
    """A panel's "relative time" (``timeFrom: 24h``: the last 24 h) and "time shift" overrides."""
    start, end = base.start, base.end
    relative = parse_duration(str(time_from).removeprefix("now-")) if time_from else None
    if relative:
        start = end - relative
    shift = parse_duration(str(time_shift).removeprefix("now-")) if time_shift else None
    if shift:
        start, end = start - shift, end - shift
    return TimeRange(start, end)


def round_interval(seconds: float) -> float:
    ms = seconds * 1000
    for bound, nice in _NICE:
        if ms < bound:
            return nice / 1000
    return 31536000.0


def format_interval(seconds: float) -> str:
    """Grafana's FormatInterval: ``60`` -> ``1m``, ``90`` -> ``90s``, ``0.5`` -> ``500ms``."""
    ms = int(round(seconds * 1000))
    for unit, size in (("y", 31536000000), ("w", 604800000), ("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms" if ms < 1000 else f"{math.ceil(ms / 1000)}s"


def max_data_points(panel_max: int | None, width: int) -> int:
    """The panel's maxDataPoints, else its pixel width (Grafana's default)."""
    return panel_max if panel_max and panel_max > 0 else max(100, int(width / 24 * SCREEN_PX))


def query_interval(time_range: TimeRange, points: int, min_interval: float) -> float:
    """Grafana's calculated ``$__interval`` in seconds."""
    calculated = time_range.range / max(points, 1)
    interval = min_interval if calculated < min_interval else round_interval(calculated)
    safe = time_range.range / SAFE_RESOLUTION
    safe = round_interval(safe) if safe > 0.001 else 0.001
    return max(interval, safe)


def rate_interval(interval: float, scrape: float) -> float:
    return max(interval + scrape, 4 * scrape)


def macros(time_range: TimeRange, interval: float, scrape: float, instant: bool = False) -> dict[str, str]:
    """Grafana's global variables for one query, by name without the ``$``."""
    rate = rate_interval(interval, scrape)
    span = round(time_range.range)
    out = {
        "__interval": format_interval(interval), "__interval_ms": str(int(interval * 1000)),
        "__rate_interval": format_interval(rate), "__rate_interval_ms": str(int(rate * 1000)),
        "__range": f"{span}s", "__range_s": str(span), "__range_ms": str(int(time_range.range * 1000)),
        "__from": str(int(time_range.start * 1000)), "__to": str(int(time_range.end * 1000)),
    }
    out["__auto"] = out["__range"] if instant else out["__interval"]
    return out
