"""From the queries' selector uses to metrics with series: names, types, label sets, levels.

Types: ``histogram_quantile`` over ``_bucket``, or a ``_bucket``/``_sum``/``_count`` family,
makes a histogram; ``rate``/``increase``/``irate`` or a ``_total`` suffix a counter; the one
side of a ``group_left`` join or an ``_info`` suffix an info metric (value 1); else a gauge.
Label sets: every label a matcher, ``by``, ``on`` or a variable needs, ``instance`` and ``job``
always. Metrics a query matches one-to-one (``a / b``) share their label schema and rows, so
the division finds its partner series.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field, replace
from typing import Iterable

from stackctl.seeding.synth import values as V
from stackctl.seeding.synth.exprs import Matcher, Use, Walk
from stackctl.seeding.synth.labels import Pools, alternatives

MAX_ROWS = 32  # series per metric: enough for every panel's split, few enough to stay fast
_SUFFIXES = ("_bucket", "_sum", "_count")
_ERRORISH = re.compile(r"[45]\d\d|[45]xx|errors?|fail(ed|ure)?|false|timeout|rejected|denied|aborted|"
                       r"unavailable|internal|dropped|canceled|cancelled|Error|Failed|FAILURE|ERROR", re.I)


@dataclass
class SeriesModel:
    labels: dict[str, str]
    level: float  # gauge mean; counter/histogram events per second


@dataclass
class MetricModel:
    name: str  # a histogram's base name (without _bucket)
    kind: V.Kind
    profile: V.Profile
    series: list[SeriesModel]
    sources: set[str] = field(default_factory=set)
    buckets: tuple[float, ...] = ()
    whole: str | None = None  # a part's whole (free <= total)
    high: float | None = None  # clamp from the whole

    @property
    def names(self) -> list[str]:
        return [self.name + s for s in _SUFFIXES] if self.kind == "histogram" else [self.name]


@dataclass
class SynthModel:
    metrics: dict[str, MetricModel] = field(default_factory=dict)
    recorded: set[str] = field(default_factory=set)  # names recording rules produce (not seeded)
    sources: list[str] = field(default_factory=list)

    def by_series_name(self, name: str) -> tuple[MetricModel, str] | None:
        """The metric that writes series ``name`` and the suffix (``_bucket``, ``""``)."""
        if name in self.metrics and self.metrics[name].kind != "histogram":
            return self.metrics[name], ""
        for suffix in _SUFFIXES:
            base = name[: -len(suffix)] if name.endswith(suffix) else None
            if base and base in self.metrics and self.metrics[base].kind == "histogram":
                return self.metrics[base], suffix
        return None


@dataclass
class Query:
    """One expression to feed, where it comes from, and labels a repeat spreads."""

    expr: str
    source: str
    spread: frozenset[str] = frozenset()
    values: dict[str, str] = field(default_factory=dict)  # the dashboard's static variables
    defines: str | None = None  # the dashboard variable this query lists the values of
    regex: str = ""  # that variable's Grafana regex: the values it keeps
    legend: frozenset[str] = frozenset()  # labels its legendFormat names ({{name}} {{area}})

    @property
    def file(self) -> str:
        return self.source.split(": ", 1)[0]


@dataclass
class _Need:
    uses: list[Use] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    spread: set[str] = field(default_factory=set)
    job_vars: set[tuple[str, str]] = field(default_factory=set)  # (file, variable) its job comes from
    legend: set[str] = field(default_factory=set)  # labels a legend shows: present, one value (no new splits)


def _histogram_bases(uses: Iterable[Use]) -> set[str]:
    names = {u.metric for u in uses}
    bases = set()
    for u in uses:
        if u.metric.endswith("_bucket") and (u.quantile or "le" in u.labels or any(m.name == "le" for m in u.matchers)):
            bases.add(u.metric[:-7])
    for n in names:
        for suffix in _SUFFIXES:
            base = n[: -len(suffix)] if n.endswith(suffix) else ""
            if base and sum(base + s in names for s in _SUFFIXES) >= 2:
                bases.add(base)
    return bases


def _key(name: str, bases: set[str]) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in bases:
            return name[: -len(suffix)]
    return name


def _kind(key: str, uses: list[Use], bases: set[str]) -> V.Kind:
    if key in bases:
        return "histogram"
    if key.endswith("_total") or any(u.counter for u in uses):
        return "counter"
    if key.endswith("_info") or any(u.info for u in uses):
        return "info"
    return "gauge"


class _Groups:
    """Union-find over metric keys joined one-to-one."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.ignoring: dict[str, set[str]] = {}

    def find(self, k: str) -> str:
        while self.parent.setdefault(k, k) != k:
            k = self.parent[k]
        return k

    def union(self, a: str, b: str, ignoring: Iterable[str]) -> None:
        ra, rb = self.find(a), self.find(b)
        ign = self.ignoring.pop(ra, set()) | self.ignoring.pop(rb, set()) | set(ignoring)
        self.parent[ra] = rb
        self.ignoring[rb] = ign


def build(walks: list[tuple[Query, Walk]], recorded: set[str] | None = None, pools: Pools | None = None) -> SynthModel:
    """The model of every metric the walked queries read (recorded names excepted)."""
    pools = pools or Pools()
    recorded = recorded or set()
    all_uses = [u for _q, w in walks for u in w.uses if u.metric not in recorded]
    bases = _histogram_bases(all_uses)
    needs: dict[str, _Need] = {}
    for q, w in walks:
        for u in w.uses:
            if u.metric in recorded:
                continue
            need = needs.setdefault(_key(u.metric, bases), _Need())
            need.uses.append(u)
            need.sources.add(q.source)
            need.spread |= q.spread
            need.legend |= q.legend
            need.job_vars |= {(q.file, m.var) for m in u.matchers if m.name == "job" and m.var}
            pools.note_matchers(u.matchers)
    groups = _Groups()
    for _q, w in walks:
        for j in w.joins:
            if j.on is not None:
                continue
            members = [_key(m, bases) for m in j.left | j.right if m not in recorded]
            for a, b in zip(members, members[1:] or members):  # a self-join (x / ignoring(type) x) too
                groups.union(a, b, j.ignoring)
    model = SynthModel(recorded=set(recorded), sources=list(dict.fromkeys(q.source for q, _w in walks)))
    schemas = _schemas(needs, groups, bases)
    pools.var_jobs = _variable_jobs(walks, recorded, pools)
    for q, _w in walks:
        if q.defines is not None and len(q.spread) == 1:
            pools.var_labels.setdefault(q.defines, next(iter(q.spread)))
            if q.regex:
                pools.keep_regex(next(iter(q.spread)), q.regex)
    rows_by_group: dict[str, list[dict[str, str]]] = {}
    for key, need in needs.items():
        root = groups.find(key)
        if root not in rows_by_group:
            members = [k for k in needs if groups.find(k) == root]
            rows_by_group[root] = _rows(members, needs, schemas, pools, groups.ignoring.get(root, set()))
        kind = _kind(key, need.uses, bases)
        prof = V.profile(key, kind, boolean=kind == "gauge" and any(u.boolean for u in need.uses))
        if prof.kind == "gauge" and prof.spread and any(u.steady for u in need.uses):
            # changes()/deriv()/delta() would read Gaussian noise as flapping or a trend,
            # count_values()/stdvar() as series that disagree
            prof = replace(prof, spread=0.0, why=prof.why + "; constant: read by changes()/deriv()/delta()/count_values()/stdvar()")
        rows = _one_per_key(_project(rows_by_group[root], schemas[key]), need.uses)
        model.metrics[key] = MetricModel(key, prof.kind, prof, [SeriesModel(r, prof.level) for r in rows],
                                         need.sources, _buckets(key, need.uses, prof) if prof.kind == "histogram" else ())
    _relate(model)
    _vary(model)
    return model


def _variable_jobs(walks: list[tuple[Query, Walk]], recorded: set[str], pools: Pools) -> dict[tuple[str, str], str]:
    """The job a ``$job``-like variable resolves to: its defining query's family's, so every
    panel filtering on that variable finds series (node_* under "node" everywhere, say)."""
    # the job other queries (a rule file's `probe_success{job="blackbox-exporter"}`) pin for a
    # metric: a variable over that metric that pins none resolves to it, so the dashboard shows
    # the series the alerts read, not a second copy of them under the exporter's usual job
    pinned_for: dict[str, list[str]] = {}
    for _q, w in walks:
        for u in w.uses:
            for m in u.matchers:
                if m.name == "job" and m.op == "=" and m.var is None and m.value not in pinned_for.setdefault(u.metric, []):
                    pinned_for[u.metric].append(m.value)
    out = {}
    for q, w in walks:
        if q.defines is None:
            continue
        names = [u.metric for u in w.uses if u.metric not in recorded]
        pinned = [m.value for u in w.uses for m in u.matchers if m.name == "job" and m.op == "=" and m.var is None]
        elsewhere = [j for n in names for j in pinned_for.get(n, [])]
        out[(q.file, q.defines)] = pools.job_for(names, pinned or elsewhere)
    return out


def _schemas(needs: dict[str, _Need], groups: _Groups, bases: set[str]) -> dict[str, set[str]]:
    own: dict[str, set[str]] = {}
    for key, need in needs.items():
        names = {"instance", "job"}
        for u in need.uses:
            names |= set(u.labels) | {m.name for m in u.matchers}
        names |= need.spread  # label_values(metric, label) and repeats need the label itself
        names |= need.legend  # a legend `{{gc}}` of a label no matcher names: the exporter has it
        names.discard("le" if key in bases else "")
        names.discard("__name__")
        own[key] = names
    out: dict[str, set[str]] = {}
    for key in needs:
        root = groups.find(key)
        ignoring = groups.ignoring.get(root, set())
        shared = set().union(*(own[k] - ignoring for k in needs if groups.find(k) == root))
        out[key] = own[key] | shared
    return out


def _rows(members: list[str], needs: dict[str, _Need], schemas: dict[str, set[str]], pools: Pools,
          ignored: set[str]) -> list[dict[str, str]]:
    """Label sets every member of a join group gets: one per selector use, free labels spread
    (except labels a join ignores: two values there would make its matching many-to-many)."""
    schema = sorted(set().union(*(schemas[m] for m in members)))
    uses = [u for m in members for u in needs[m].uses]
    spread = {"instance"} | set().union(*(needs[m].spread for m in members))
    # Labels a group_left lends; the series' identity (job, instance) is never one of them.
    carried = (set().union(*(u.carried for u in uses)) if uses else set()) - {"job", "instance"}
    for u in uses:
        spread |= {lab for lab in u.labels if lab not in ("job", "le")}
    spread -= carried | ignored
    pinned_jobs = [v for u in uses for m in u.matchers if m.name == "job" and m.var is None
                   for v in ([m.value] if m.op == "=" else alternatives(m.value) if m.op == "=~" else [])]
    via = sorted(pools.var_jobs[v] for m in members for v in needs[m].job_vars if v in pools.var_jobs)
    job = pools.job_for(members, pinned_jobs or via)
    rows: list[dict[str, str]] = []
    per_use = []
    for u in uses or [Use(members[0], (), False, False, False, frozenset())]:
        options = []
        for label in schema:
            ms = [m for m in u.matchers if m.name == label]
            if label in carried and all(m.matches(v) for m in ms for v in pools.free(label, True)):
                options.append([_CARRIED])
            elif any(m.var is None for m in ms):
                options.append(pools.choices(label, ms) or pools.free(label, False, job))
            elif ms and label == "job":  # every job a variable filtering this metric resolves to
                options.append(list(dict.fromkeys(via + [job])))
            elif ms:
                # Filtered by a variable: every value the variable's source metric may list
                # (it spreads its label), so whichever Grafana picks first, this metric has it;
                # a variable inside a regex (pod=~"$deployment.*"): values built on the variable's.
                options.append(pools.around_variables(label, ms) or pools.free(label, True, job))
            else:
                options.append(pools.free(label, label in spread, job))
        per_use.append(options)
    # First one series for every selector, then the splits: a metric many queries read (up)
    # keeps a series for each of them within MAX_ROWS.
    seen: set[tuple[tuple[str, str], ...]] = set()
    combos = [[tuple(o[0] for o in options)] for options in per_use]
    combos += [list(itertools.islice(itertools.product(*options), MAX_ROWS)) for options in per_use]
    for combo in (c for group in combos for c in group):
        row = tuple((k, v) for k, v in zip(schema, combo))
        if row not in seen:
            seen.add(row)
            rows.append({k: v for k, v in row if v != ""})
        if len(rows) >= MAX_ROWS:
            break
    return [_carry(r, i, pools) for i, r in enumerate(rows)]


def _one_per_key(rows: list[dict[str, str]], uses: list[Use]) -> list[dict[str, str]]:
    """The "one" side of `+ on(x) group_left` in every query reading it: one series per x
    (Prometheus refuses two: "found duplicate series for the match group")."""
    keys = {u.unique for u in uses}
    if not uses or len(keys) != 1 or None in keys:
        return rows
    on = next(iter(keys)) or ()
    firsts: dict[tuple[str, ...], dict[str, str]] = {}
    for r in rows:
        firsts.setdefault(tuple(r.get(k, "") for k in on), r)
    return list(firsts.values())


_CARRIED = "\x00carried"


def _carry(row: dict[str, str], i: int, pools: Pools) -> dict[str, str]:
    """Labels an info metric lends through group_left: one value per row, never a product."""
    out = {}
    for k, v in row.items():
        if v == _CARRIED:
            cands = pools.free(k, True)
            if k == "nodename" and "instance" in row:
                out[k] = row["instance"].split(":")[0]
            else:
                out[k] = cands[i % len(cands)] if len(cands) > 1 else f"{cands[0]}"
        else:
            out[k] = v
    return out


def _project(rows: list[dict[str, str]], schema: set[str]) -> list[dict[str, str]]:
    """The group's rows on one metric's own labels (an ignoring()/without() label stays off)."""
    out, seen = [], set()
    for r in rows:
        row = {k: v for k, v in r.items() if k in schema}
        key = tuple(sorted(row.items()))
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _buckets(key: str, uses: list[Use], prof: V.Profile) -> tuple[float, ...]:
    named: set[float] = set()
    for u in uses:
        for m in u.matchers:
            if m.name == "le" and m.var is None:
                for alt in [m.value] if m.op == "=" else re.split(r"\|", m.value.strip("()^$")):
                    try:
                        named.add(float(alt))
                    except ValueError:
                        continue
        # `histogram_quantile(...) > 40` over buckets up to 10: no quantile passes 40 (Prometheus
        # returns the largest finite bound); a bucket at twice the threshold lets one
        named |= {2 * t for t in u.above if t > 0 and math.isfinite(t) and t >= max(prof.buckets or (0.0,))}
    named.discard(float("inf"))
    return tuple(sorted(set(prof.buckets) | named))


def _relate(model: SynthModel) -> None:
    """Parts (free, available, used bytes) sit below their whole (total, size, limit)."""
    gauges = [m.name for m in model.metrics.values() if m.kind == "gauge"]
    for m in model.metrics.values():
        if m.kind != "gauge" or not V.is_part(m.name):
            continue
        whole = V.whole_of(m.name, gauges)
        if whole is None:
            continue
        total = model.metrics[whole].profile.level
        m.whole, m.high = whole, total * 0.98
        for s in m.series:
            s.level = total * V.part_fraction(m.name)


def _vary(model: SynthModel) -> None:
    """Series of one metric differ a little, as hosts do; idle CPU takes most of the time."""
    for m in model.metrics.values():
        if m.profile.spread == 0 and m.kind == "gauge" or m.kind == "info":
            continue
        for i, s in enumerate(m.series):
            factor = 1.0 + 0.1 * (i % 3)
            if m.kind == "counter" and s.labels.get("mode") == "idle":
                factor = 3.0
            if m.kind in ("counter", "histogram") and any(map(_ERRORISH.fullmatch, s.labels.values())):
                factor = 0.02  # errors are rare in a healthy system: 2 % of the traffic
            s.level *= factor
            if m.high is not None:
                s.level = min(s.level, m.high * 0.9)
            if m.profile.high is not None:
                s.level = min(s.level, m.profile.high * 0.9)


def matching(metric: MetricModel, matchers: Iterable[Matcher]) -> list[int]:
    """Indexes of the metric's series a selector's matchers select (variables match anything)."""
    ms = [m for m in matchers if m.name != "le"]
    return [i for i, s in enumerate(metric.series) if all(m.matches(s.labels.get(m.name, "")) for m in ms)]
