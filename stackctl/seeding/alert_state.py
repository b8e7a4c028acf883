"""Alerts that fire after seeding, by Prometheus' own restore of the ``for:`` state.

The written history says how long each alert's condition has held, but the rule manager never
evaluated that past: every alert would start pending at the first live evaluation and wait out
its whole ``for:``. Prometheus already knows how to resume a ``for:`` after a restart: on its
second evaluation after start, its rule manager reads each active alert's ``ALERTS_FOR_STATE``
series (value: the alert's ``activeAt`` in epoch seconds; labels: the alert's, rule labels
included) and takes the newest sample (``--rules.alert.for-outage-tolerance`` back at most).
So, after the history is written:

1. the recorded series the alerts read get their past (``rule_history.backfill_recordings``);
2. each alert's expression is evaluated over the history at the rule's interval; the run of
   evaluations that reaches now, per result series, gives its ``activeAt`` (as the rule manager
   would have computed it);
3. Prometheus is restarted (native: a new process; docker: the container) and, once it is
   ready and before that second evaluation, one ``ALERTS_FOR_STATE`` sample per active alert is
   remote-written with timestamp "now": newer than anything the old process wrote, and not
   after the restore. The stack runs Prometheus with ``--rules.alert.for-grace-period=1s``, so
   neither are alerts with a short ``for:`` skipped nor restored ones held back 10 minutes.

An alert whose condition held longer than ``for:`` then fires on the third evaluation; one that
held less stays pending with the time left. Nothing else about the rules changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import requests

from stackctl.errors import SeedError
from stackctl.seeding.generate import Labels, Series
from stackctl.seeding.remote_write import RemoteWriter, encode_labels, encode_write_request
from stackctl.seeding.rule_history import (
    Rule,
    backfill_recordings,
    evaluate,
    expand_labels,
    instant_query,
    loaded_rules,
    prometheus_range,
    rules_from_groups,
    run_start,
)
from stackctl.seeding.scenario import format_duration

Progress = Callable[[str], None]
Restart = Callable[[], float]  # restarts Prometheus, waits until ready; returns the seconds it took
FOR_STATE = "ALERTS_FOR_STATE"
_WAIT_INTERVAL_S = 5.0  # `seed` waits to see alerts of groups evaluated at least this often fire


@dataclass(frozen=True)
class Active:
    """One alert instance the history leaves active now."""

    alertname: str
    labels: Labels  # the alert's labels: result series (no __name__) + rule labels + alertname
    active_at_s: float
    for_s: float
    now_s: float
    series: str = ""  # the result series' labels, to tell an alert's instances apart

    @property
    def held_s(self) -> float:
        return max(self.now_s - self.active_at_s, 0.0)

    @property
    def firing(self) -> bool:
        return self.held_s >= self.for_s

    def describe(self) -> str:
        held = format_duration(round(self.held_s))
        name = self.alertname + self.series
        if self.firing:
            return f"{name}: condition held {held} (for: {format_duration(self.for_s)}) -> firing"
        left = format_duration(round(self.for_s - self.held_s))
        return f"{name}: condition held {held} of for: {format_duration(self.for_s)} -> pending, fires in {left}"


@dataclass
class RestoreReport:
    active: list[Active] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # rules that could not be restored, and why
    recorded_samples: int = 0
    restart_s: float | None = None
    confirmed: list[str] = field(default_factory=list)  # alertnames Prometheus reports firing after it
    note: str | None = None  # why nothing was restarted

    def lines(self) -> list[str]:
        return self.plan_lines() + self.result_lines()

    def plan_lines(self) -> list[str]:
        out = []
        if self.recorded_samples:
            out.append(f"recording rules: {self.recorded_samples:,} samples of their past written (the rule manager "
                       "never evaluated the seeded history)")
        out += [f"alert state: {a.describe()}" for a in self.active]
        out += [f"alert state: not restored: {why}" for why in self.skipped]
        return out

    def result_lines(self) -> list[str]:
        out = []
        if self.restart_s is not None:
            fired = f"; firing now: {', '.join(sorted(set(self.confirmed)))}" if self.confirmed else ""
            out.append(f"restarted prometheus in {self.restart_s:.1f}s so its rule manager restores the `for:` state "
                       f"of {len(self.active)} alert(s) from {FOR_STATE}{fired}")
        elif self.note:
            out.append(f"alert state: {self.note}")
        return out


def _alert_labels(rule: Rule, series: Labels) -> Labels | None:
    metric = {k: v for k, v in series if k != "__name__"}
    extra = expand_labels(rule.labels, metric)
    if extra is None:
        return None
    return tuple(sorted({**metric, **extra, "alertname": rule.alert or ""}.items()))


def active_alerts(prom_url: str, rules: Sequence[Rule], start_s: float, now_s: float) -> tuple[list[Active], list[str]]:
    """Every alert instance the history in [start_s, now_s] leaves active now, and the rules skipped."""
    query = prometheus_range(prom_url)
    active, skipped = [], []
    now_query = instant_query(prom_url)
    for rule in (r for r in rules if r.alert and r.for_s > 0):
        try:
            if not now_query(rule.expr, now_s):  # inactive now: no past to read (the common case, and cheap)
                continue
            evaluated = evaluate(query, rule.expr, start_s, now_s, rule.interval_s, until_closed=True)
        except SeedError as exc:
            skipped.append(f"{rule.alert}: {exc.message}")
            continue
        for key, (times, _values) in evaluated.items():
            start = run_start(times, now_s, rule.interval_s)
            if start is None:
                continue
            labels = _alert_labels(rule, key)
            if labels is None:
                skipped.append(f"{rule.alert}: a label template needs more than $labels (its label set changes "
                               "with every evaluation)")
                break
            shown = ", ".join(f'{k}="{v}"' for k, v in key if k != "__name__")
            active.append(Active(rule.alert or "", labels, start, rule.for_s, now_s, "{" + shown + "}" if shown else ""))
    return active, skipped


def for_state_series(active: Sequence[Active], ts_ms: int) -> list[Series]:
    """The samples the rule manager would have written last: value activeAt (epoch s)."""
    out = []
    for a in active:
        labels = tuple(sorted({**dict(a.labels), "__name__": FOR_STATE}.items()))
        out.append(Series(labels, np.asarray([ts_ms], dtype=np.int64), np.asarray([float(int(a.active_at_s))])))
    return out


def write_for_state(writer: RemoteWriter, active: Sequence[Active], ts_ms: int) -> None:
    series = for_state_series(active, ts_ms)
    if series:
        writer.send(encode_write_request([(encode_labels(s.labels), s.timestamps, s.values) for s in series]))


def _firing(prom_url: str) -> list[str]:
    try:
        alerts = requests.get(prom_url.rstrip("/") + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    except (requests.RequestException, ValueError, KeyError):
        return []
    return [str(a["labels"].get("alertname")) for a in alerts if a.get("state") == "firing"]


def restore(prom_url: str, rules: Sequence[Rule], history_s: float, restart: Restart | None,
            progress: Progress | None = None, *, now_s: float | None = None, confirm_s: float | None = None) -> RestoreReport:
    """Give ``rules`` the state the last ``history_s`` of data implies (see the module doc).

    ``restart`` is None when the Prometheus is not one stackctl runs: alerts are then only
    reported, and go pending at its next evaluation as before. ``confirm_s``: wait that long
    (default: four evaluation intervals) for the restored alerts that should fire to fire.
    """
    progress = progress or (lambda _m: None)
    report = RestoreReport()
    now_s = now_s if now_s is not None else time.time()
    start_s = now_s - history_s
    report.recorded_samples = backfill_recordings(prom_url, rules, start_s, now_s)
    report.active, report.skipped = active_alerts(prom_url, rules, start_s, now_s)
    wanted = [a for a in report.active if a.held_s > 0]
    for line in report.plan_lines():
        progress(line)
    if not wanted:
        report.note = "no alert's condition holds in the written history: nothing to restore"
    elif restart is None:
        report.note = ("this Prometheus is not one stackctl runs, so it is not restarted: its alerts start their "
                       "`for:` at its next evaluation")
    if report.note or restart is None:
        progress(f"alert state: {report.note}")
        return report
    progress(f"restarting prometheus so its rule manager restores the `for:` state of {len(wanted)} alert(s)")
    writer = RemoteWriter(prom_url, give_up_after=10.0)
    # Once before the restart, a second ahead (the old process may evaluate once more before
    # it stops: this sample stays the newest), and once the new process is ready (in case the
    # restore comes before that second has passed, when a sample ahead would not be read yet).
    write_for_state(writer, wanted, int(time.time() * 1000) + 1000)
    report.restart_s = restart()
    write_for_state(writer, wanted, int(time.time() * 1000))
    interval = {r.alert: r.interval_s for r in rules if r.alert}
    firing = {a.alertname for a in wanted if a.firing}
    # Wait only for groups that evaluate often; a group with `interval: 1m` fires minutes later.
    should_fire = {n for n in firing if interval.get(n, 1.0) <= _WAIT_INTERVAL_S}
    for name in sorted(firing - should_fire):
        progress(f"alert state: {name}: its group evaluates every {format_duration(interval[name])}: it fires on "
                 f"the third evaluation after the restart (within {format_duration(4 * interval[name])})")
    longest = max([interval.get(n, 1.0) for n in should_fire] or [1.0])
    deadline = time.monotonic() + (confirm_s if confirm_s is not None else 4 * longest + 2)
    while should_fire and time.monotonic() < deadline:
        report.confirmed = _firing(prom_url)
        if should_fire <= set(report.confirmed):
            break
        time.sleep(0.25)
    missed = _not_restored(prom_url, rules, should_fire - set(report.confirmed))
    report.skipped += missed
    for why in missed:
        progress(f"warning: alert state: {why}")
    for line in report.result_lines():
        progress(line)
    return report


def _version(prom_url: str) -> str:
    try:
        return str(requests.get(prom_url.rstrip("/") + "/api/v1/status/buildinfo", timeout=5).json()["data"]["version"])
    except (requests.RequestException, ValueError, KeyError):
        return "?"


def _not_restored(prom_url: str, rules: Sequence[Rule], names: set[str]) -> list[str]:
    """Why alerts that should fire now do not: said, never hidden."""
    if not names:
        return []
    version, out = _version(prom_url), []
    for name in sorted(names):
        rule = next((r for r in rules if r.alert == name), None)
        if rule is not None and any("{{" in v for v in rule.labels.values()):
            out.append(f"{name}: Prometheus {version} did not restore it: its rule has label templates, which some "
                       "Prometheus versions (2.53 among them) match unexpanded when they restore `for:` state; it fires "
                       "once its `for:` has passed since the restart")
        else:
            out.append(f"{name}: Prometheus {version} did not report it firing within four evaluations of the restart")
    return out


def restore_groups(prom_url: str, groups: Sequence[Mapping[str, Any]], history_s: float, restart: Restart | None,
                   progress: Progress | None = None) -> RestoreReport:
    """``restore`` for parsed rule files (``seed --from``): the rules among them that Prometheus
    has loaded, with the interval it evaluates them at; the others are reported as skipped
    (Prometheus never evaluates them, so there is no state to restore)."""
    loaded = {(r.name, r.expr.strip()): r for r in loaded_rules(prom_url)}
    chosen, missing = [], []
    for rule in rules_from_groups(groups):
        match = loaded.get((rule.name, rule.expr.strip()))
        if match is not None:
            chosen.append(match)
        elif rule.alert:
            missing.append(f"{rule.alert}: not loaded in Prometheus (add its file to `rules:` in stackctl.yaml)")
    report = restore(prom_url, chosen, history_s, restart, progress)
    report.skipped = missing + report.skipped
    return report
