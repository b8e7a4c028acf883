"""Alertmanager's time intervals, evaluated as its ``timeinterval`` package does, so
``fire-alerts`` can tell a route muted *now* (``mute_time_intervals``, or outside its
``active_time_intervals``) from one whose notification is missing.

A named interval holds a list of intervals and contains a moment when any of them does. One
interval contains it when every field it sets matches (``times``, ``weekdays``,
``days_of_month``, ``months``, ``years``), in its ``location`` (UTC by default); a field
matches when any of its ranges does. Ranges are inclusive except ``times`` (end excluded);
negative days of month count from the month's end.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WEEKDAYS = {name: i for i, name in enumerate(("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"))}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}


def named_intervals(doc: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``time_intervals`` and the older top-level ``mute_time_intervals``: name -> intervals."""
    out: dict[str, list[dict[str, Any]]] = {}
    for key in ("mute_time_intervals", "time_intervals"):
        for entry in doc.get(key) or []:
            if isinstance(entry, dict) and entry.get("name") is not None:
                out[str(entry["name"])] = [i for i in entry.get("time_intervals") or [] if isinstance(i, dict)]
    return out


def held_back_now(mute: Sequence[str], active: Sequence[str], intervals: Mapping[str, list[dict[str, Any]]], now: datetime) -> str:
    """Why a route notifies nobody at ``now`` ('' when it notifies)."""
    muting = [name for name in mute if any(contains(i, now) for i in intervals.get(name, []))]
    if muting:
        return f"muted now by {', '.join(muting)} (mute_time_intervals)"
    if active and not any(contains(i, now) for name in active for i in intervals.get(name, [])):
        return f"outside {', '.join(active)} now (active_time_intervals)"
    return ""


def contains(interval: Mapping[str, Any], now: datetime) -> bool:
    try:
        zone = ZoneInfo(str(interval.get("location") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    t = now.astimezone(zone)
    checks = (("times", _in_times), ("weekdays", _in_weekdays), ("days_of_month", _in_days), ("months", _in_months), ("years", _in_years))
    return all(not interval.get(key) or any(test(r, t) for r in interval[key]) for key, test in checks)


def _in_times(r: Any, t: datetime) -> bool:
    if not isinstance(r, dict):
        return False
    minute = t.hour * 60 + t.minute
    return _minutes(r.get("start_time"), 0) <= minute < _minutes(r.get("end_time"), 24 * 60)


def _minutes(text: Any, default: int) -> int:
    if not text:
        return default
    hours, _, minutes = str(text).partition(":")
    return int(hours) * 60 + int(minutes or 0)


def _bounds(r: Any, names: Mapping[str, int]) -> tuple[int, int]:
    first, _, last = str(r).lower().partition(":")

    def value(part: str) -> int:
        part = part.strip()
        return names[part] if part in names else int(part)

    return value(first), value(last or first)


def _in_weekdays(r: Any, t: datetime) -> bool:
    lo, hi = _bounds(r, _WEEKDAYS)
    return lo <= (t.weekday() + 1) % 7 <= hi


def _in_days(r: Any, t: datetime) -> bool:
    lo, hi = _bounds(r, {})
    days = calendar.monthrange(t.year, t.month)[1]
    lo, hi = (days + lo + 1 if lo < 0 else lo), (days + hi + 1 if hi < 0 else hi)
    return lo <= t.day <= hi


def _in_months(r: Any, t: datetime) -> bool:
    lo, hi = _bounds(r, _MONTHS)
    return lo <= t.month <= hi


def _in_years(r: Any, t: datetime) -> bool:
    lo, hi = _bounds(r, {})
    return lo <= t.year <= hi
