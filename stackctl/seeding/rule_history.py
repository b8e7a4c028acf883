"""The rules of a stack, evaluated over written history as the rule manager would have.

Seeded history is written *after* the fact, so Prometheus' rule manager never evaluated it:
recorded series (``record:``) have no past, and alerts start their ``for:`` at the first live
evaluation. This module gives the rules (loaded in Prometheus, or parsed from rule files) and
evaluates an expression over a window at the rule's own interval with range queries -- the
same instant evaluations the rule manager makes, one per interval -- in chunks Prometheus
accepts (11,000 points per series at most). ``backfill_recordings`` then writes the recorded
series' past (what ``promtool tsdb create-blocks-from rules`` does for blocks).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import requests

from stackctl.errors import SeedError
from stackctl.seeding.continuation import read_race
from stackctl.seeding.generate import Labels, Series
from stackctl.seeding.remote_write import RemoteWriter, backfill
from stackctl.seeding.scenario import parse_duration

QueryRange = Callable[[str, float, float, float], list[dict[str, Any]]]  # expr, start, end, step (s)
Progress = Callable[[str], None]
MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series
DEFAULT_INTERVAL_S = 60.0  # Prometheus' own default for global.evaluation_interval
_TEMPLATE = re.compile(r"\{\{-?\s*(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")


@dataclass(frozen=True)
class Rule:
    """One rule of a group: an alert (``alert`` set) or a recording (``record`` set)."""

    group: str
    expr: str
    interval_s: float
    alert: str | None = None
    record: str | None = None
    for_s: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.alert or self.record or ""


def _seconds(value: Any, default: float) -> float:
    if value in (None, ""):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    return parse_duration(str(value))


def rules_from_groups(groups: Iterable[Mapping[str, Any]], default_interval_s: float = DEFAULT_INTERVAL_S) -> list[Rule]:
    """Rules from parsed rule files: each item a rule file (``{"groups": [...]}``) or a group."""
    out: list[Rule] = []
    for item in groups:
        for group in item.get("groups", [item]) if "groups" in item else [item]:
            interval = _seconds(group.get("interval"), default_interval_s)
            for r in group.get("rules") or []:
                out.append(Rule(str(group.get("name", "")), str(r.get("expr", "")), interval, r.get("alert"), r.get("record"),
                                _seconds(r.get("for"), 0.0), {str(k): str(v) for k, v in (r.get("labels") or {}).items()}))
    return out


def loaded_rules(prom_url: str, timeout: float = 10.0) -> list[Rule]:
    """The rules Prometheus has loaded (packs, the user's ``rules:``), in group order."""
    try:
        body = requests.get(prom_url.rstrip("/") + "/api/v1/rules", timeout=timeout).json()
    except (requests.RequestException, ValueError) as exc:
        raise SeedError(f"cannot read the rules Prometheus at {prom_url} has loaded ({type(exc).__name__})") from None
    out = []
    for group in body.get("data", {}).get("groups", []):
        interval = float(group.get("interval") or DEFAULT_INTERVAL_S)
        for r in group.get("rules", []):
            alert = r["name"] if r.get("type") == "alerting" else None
            out.append(Rule(group.get("name", ""), r.get("query", ""), interval, alert, None if alert else r["name"],
                            float(r.get("duration") or 0.0), dict(r.get("labels") or {})))
    return out


def expand_labels(labels: Mapping[str, str], series: Mapping[str, str]) -> dict[str, str] | None:
    """A rule's labels for one result series; None if a template needs more than ``$labels.x``
    (``$value`` changes every evaluation: no stable label set to restore)."""
    out = {}
    for key, value in labels.items():
        expanded = _TEMPLATE.sub(lambda m: series.get(m.group(1), ""), value)
        if "{{" in expanded:
            return None
        out[key] = expanded
    return out


def prometheus_range(url: str, timeout: float = 60.0) -> QueryRange:
    endpoint = url.rstrip("/") + "/api/v1/query_range"

    def query(expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        data = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.3f}"}
        return _post(endpoint, data, timeout)

    return query


def _key(metric: Mapping[str, str]) -> Labels:
    return tuple(sorted(metric.items()))


Points = tuple[np.ndarray, np.ndarray]  # evaluation times (s) and values, oldest first


def evaluate(query: QueryRange, expr: str, start_s: float, end_s: float, step_s: float,
             until_closed: bool = False) -> dict[Labels, Points]:
    """The evaluations at which each result series of ``expr`` had a value, on the grid
    ``end_s - k * step_s`` within [start_s, end_s].

    With ``until_closed``, chunks are read newest first and reading stops once every series'
    run of consecutive points ending now has a start (an alert's ``activeAt``).
    """
    chunks: dict[Labels, list[np.ndarray]] = {}
    hi = end_s
    while hi >= start_s:
        lo = max(start_s, hi - (MAX_POINTS - 1) * step_s)
        lo = hi - float(np.floor((hi - lo) / step_s + 1e-9)) * step_s  # stay on the grid ending at end_s
        for row in query(expr, lo, hi, step_s):
            points = np.asarray([[float(t), float(v)] for t, v in row["values"]], dtype=float).reshape(-1, 2)
            chunks.setdefault(_key(row["metric"]), []).insert(0, points)
        if until_closed and not _open_at(chunks, lo, end_s, step_s):
            break
        hi = lo - step_s
    out = {}
    for key, parts in chunks.items():
        both = np.concatenate(parts)
        out[key] = (both[:, 0], both[:, 1])
    return out


def run_start(times: np.ndarray, end_s: float, step_s: float) -> float | None:
    """Start of the run of consecutive evaluations that reaches ``end_s``; None if the last
    evaluation had no value (the condition is false now)."""
    if not times.size or abs(times[-1] - end_s) > step_s / 2:
        return None
    gaps = np.nonzero(np.diff(times) > step_s * 1.5)[0]
    return float(times[gaps[-1] + 1]) if gaps.size else float(times[0])


def _open_at(found: Mapping[Labels, Sequence[np.ndarray]], lo: float, end_s: float, step_s: float) -> bool:
    """Does any series' current run reach back to ``lo`` (so an older chunk may extend it)?"""
    for parts in found.values():
        times = np.concatenate(parts)[:, 0]
        start = run_start(times, end_s, step_s)
        if start is not None and start <= lo + step_s / 2:
            return True
    return False


def backfill_recordings(prom_url: str, rules: Sequence[Rule], start_s: float, end_s: float,
                        writer: RemoteWriter | None = None) -> int:
    """Write each recording rule's values over [start_s, end_s] (in group order, so a rule that
    reads an earlier one sees its past), before the series' first sample the rule manager
    wrote itself. Returns the samples written."""
    query, instant = prometheus_range(prom_url), instant_query(prom_url)
    writer = writer or RemoteWriter(prom_url)
    written = 0
    for rule in (r for r in rules if r.record):
        evaluated = evaluate(query, rule.expr, start_s, end_s, rule.interval_s)
        firsts = _first_samples(instant, rule.record or "", end_s - start_s, end_s, rule.interval_s)
        series = []
        for key, (ts, vals) in evaluated.items():
            labels = {**dict(key), **rule.labels, "__name__": rule.record or ""}
            full = _key(labels)
            keep = ts * 1000 < firsts.get(full, float("inf")) - 1
            if keep.any():
                series.append(Series(full, np.round(ts[keep] * 1000).astype(np.int64), vals[keep]))
        if series:
            backfill(prom_url, series, writer=writer)
            written += sum(len(s.values) for s in series)
    return written


def instant_query(url: str, timeout: float = 30.0) -> Callable[[str, float], list[dict[str, Any]]]:
    endpoint = url.rstrip("/") + "/api/v1/query"

    def query(expr: str, at_s: float) -> list[dict[str, Any]]:
        return _post(endpoint, {"query": expr, "time": f"{at_s:.3f}"}, timeout)

    return query


def _post(endpoint: str, data: dict[str, str], timeout: float, attempts: int = 6) -> list[dict[str, Any]]:
    for attempt in range(attempts):
        try:
            body = requests.post(endpoint, data=data, timeout=timeout).json()
        except (requests.RequestException, ValueError) as exc:
            raise SeedError(f"query to {endpoint} failed ({type(exc).__name__})") from None
        if body.get("status") == "success":
            return list(body["data"]["result"])
        if not read_race(str(body.get("error"))) or attempt == attempts - 1:
            break
        time.sleep(0.2)
    raise SeedError(f"Prometheus refused `{data['query'].strip()}`: {body.get('error')}")


def _first_samples(query: Callable[[str, float], list[dict[str, Any]]], name: str, span_s: float, end_s: float,
                   step_s: float) -> dict[Labels, float]:
    """The first sample (ms) of each series named ``name`` in the span: what the rule manager
    wrote itself (a sample written before it would interleave, and the same timestamp twice is
    refused)."""
    step = max(int(step_s), 1)
    rows = query(f'min_over_time(timestamp({{__name__="{name}"}})[{int(span_s) + 60}s:{step}s])', end_s + 1)
    out = {}
    for row in rows:
        out[_key({**row["metric"], "__name__": name})] = float(row["value"][1]) * 1000
    return out
