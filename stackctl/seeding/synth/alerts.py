"""Solve alert conditions over the model: which series to change, and how, to fire or stay quiet.

The solver turns knobs (scale the rate or the value of the series one selector selects, set a
gauge to a threshold, leave series out for ``absent()``) and asks the evaluator whether the
condition's result is empty. ``and``/``or``/``unless`` are split into their sides. A found
setting must survive a ±30 % change of what it scaled, so the seeded noise cannot flip it:
that is the margin. A firing condition must hold for ``for:`` plus the longest range window
plus a margin; the scenario's last phase lasts that long, history included.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Literal

import promql_parser as pp

from stackctl.seeding.synth import walkers as W
from stackctl.seeding.synth.evaluate import Env, Tweak, Unsupported, as_vec, evaluate
from stackctl.seeding.synth.exprs import matchers_of, name_of, parse
from stackctl.seeding.synth.functions import CLOCK, TREND, make_env
from stackctl.seeding.synth.model import SynthModel, matching

State = Literal["firing", "quiet"]
Tweaks = dict[tuple[str, int], Tweak]
SLOPES = (-0.5, 0.5, -1.0, 1.0, -2.0, 2.0, -0.1, 0.1, -5.0, 5.0)  # x level per hour
FACTORS = (2.0, 5.0, 10.0, 0.5, 0.2, 0.1, 0.0, 30.0, 100.0, 0.03, 0.01, 1e3, 1e-3, 1e4, 1e5, 1e6)
FINE = tuple(1.04 ** k for k in range(-120, 121) if k)  # x0.009..x110: a narrow band (`> 0.9 < 1`)
MARGIN = 1.3
ABSENT = frozenset({"absent", "absent_over_time", "vector"})  # conditions "no series" can make true
HOLD_MARGIN_S = 180.0
HISTORY_S = 1800.0  # the usual seeded history: a longer range holds no more samples than that
FEW_EVENTS = 3.0  # fewer events than this in a window: whole counts, not a rate, decide a ratio
AGE_S = 900.0  # a quiet `time() - timestamp` condition must stay quiet this long after seeding
# written by Prometheus' rule manager for its active alerts (InfoInhibitor reads them): never seeded
RULE_MANAGER_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})


@dataclass(frozen=True)
class Rule:
    name: str
    expr: str
    kind: Literal["alert", "record"]
    for_s: float = 0.0
    labels: tuple[tuple[str, str], ...] = ()
    source: str = ""
    interval_s: float = 0.0  # its group's `interval:` (0: the global evaluation interval)


def recorded(rules: list[Rule]) -> dict[str, str]:
    """Each recorded name's series as one expression: every rule recording it, its ``labels:``
    put on (they add or overwrite, as the rule manager does), several rules joined by ``or``
    (Sloth records ``slo:sli_error:ratio_rate5m`` once per SLO, told apart by ``sloth_id``)."""
    exprs: dict[str, list[str]] = {}
    for r in rules:
        if r.kind != "record":
            continue
        text = f"({r.expr.strip()})"
        for key, value in r.labels:
            if key == "__name__":
                continue
            literal = json.dumps(str(value).replace("\\", "\\\\").replace("$", "$$"))
            text = f'label_replace({text}, "{key}", {literal}, "", "")'
        exprs.setdefault(r.name, []).append(text)
    return {name: " or ".join(texts) if len(texts) > 1 else texts[0] for name, texts in exprs.items()}


def parsed_records(rules: list[Rule]) -> dict[str, Any]:
    """``recorded`` parsed; a rule that does not parse is left out (reported elsewhere)."""
    out: dict[str, Any] = {}
    for name, text in recorded(rules).items():
        try:
            out[name] = parse(text)
        except ValueError:
            continue
    return out


@dataclass
class Outcome:
    rule: Rule
    state: State
    solved: bool
    note: str  # what was changed, or which part cannot be solved and why
    hold_s: float = 0.0
    tweaks: Tweaks = field(default_factory=dict)


@dataclass(frozen=True)
class _Knob:
    metric: str
    indexes: tuple[int, ...]
    attr: Literal["rate", "value", "set", "drop", "slope", "differ", "thin"]
    selector: str
    levels: tuple[float, ...] = ()  # the series' levels, for slopes relative to them

    def apply(self, base: Tweaks, factor: float) -> Tweaks:
        out = dict(base)
        for j, i in enumerate(self.indexes):
            t = out.get((self.metric, i)) or Tweak()
            if self.attr == "rate":
                t = replace(t, rate=t.rate * factor)
            elif self.attr == "value":
                t = replace(t, value=t.value * factor)
            elif self.attr == "set":
                t = replace(t, set=factor)
            elif self.attr == "differ":  # each series its own level (stdvar() != 0, count_values() != 1)
                t = replace(t, set=factor * (j + 1) * (abs(t.level(self.levels[j])) or 1.0))
            elif self.attr == "slope":  # factor: the share of its level the series moves per hour
                t = replace(t, slope=factor * abs(t.level(self.levels[j]) or 1.0) / 3600.0)
            elif self.attr == "thin":  # one series kept, the others left out (count(...) > 1 quiet)
                t = replace(t, drop=j > 0)
            else:
                t = replace(t, drop=True)
            out[(self.metric, i)] = t
        return out

    def describe(self, factor: float) -> str:
        if self.attr == "drop":
            return f"no series of {self.selector}"
        if self.attr == "thin":
            return f"one series of {self.selector} only"
        if self.attr == "set" and factor <= -1e9:
            return f"{self.selector} set to 0 (a timestamp that was never set)"
        if self.attr == "set":
            return f"{self.selector} set to {factor:g}"
        if self.attr == "differ":
            return f"the series of {self.selector} at different levels"
        if self.attr == "slope":
            return f"{self.selector} trending {factor:+g}x its level per hour"
        return f"{self.attr} of {self.selector} x{factor:g}"


class Solver:
    def __init__(self, model: SynthModel, rules: list[Rule], now: float = 1.7e9) -> None:
        self.model, self.now = model, now
        self.records = parsed_records(rules)

    def env(self, tweaks: Tweaks, age: float = 0.0) -> Env:
        return make_env(self.model, tweaks, self.records, self.now, age)

    def fires(self, node: Any, tweaks: Tweaks, age: float = 0.0) -> bool:
        return bool(as_vec(evaluate(node, self.env(tweaks, age))))

    def _ages(self, node: Any, tweaks: Tweaks) -> bool:
        """Quiet only until the seeded constant timestamps age (`time() - x > 1`): not quiet."""
        return any(c.func.name == "time" or c.func.name in CLOCK for c in W.calls(node)) and self.fires(node, tweaks, AGE_S)

    def _clock(self, node: Any) -> list[str]:
        """The calendar functions (``hour()``, ``day_of_week()``) the condition reads: no seeded
        data moves them, the wall clock at evaluation time does."""
        return sorted({f"{c.func.name}()" for n in [node, *(self.records[x] for x in self._recorded(node))]
                       for c in W.calls(n) if c.func.name in CLOCK})

    def _recorded(self, node: Any) -> list[str]:
        return [n for vs in W.walk(node) if isinstance(vs, pp.VectorSelector) and (n := name_of(vs) or "") in self.records]

    def _clocked(self, rule: Rule, node: Any, out: Outcome) -> Outcome:
        """A firing solution of a condition on the clock must hold until it fires (for: + window);
        one that cannot fire says the clock is why."""
        clock = self._clock(node)
        if not clock or out.state != "firing":
            return out
        at = time.strftime("%a %H:%M UTC", time.gmtime(self.now))
        if out.solved and not self.fires(node, out.tweaks, out.hold_s):
            return replace(out, solved=False, note=f"fires at the seeding time ({at}) but its condition reads the clock "
                           f"({', '.join(clock)}) and stops holding before it has held for {out.hold_s / 60:g}m "
                           "(for: + its longest range): seed it again when the clock allows")
        if not out.solved and not out.note.startswith("cannot evaluate"):
            return replace(out, note=f"its condition reads the clock ({', '.join(clock)}): at the seeding time ({at}) "
                           f"no seeded data makes it true ({out.note}); seed it when the clock allows")
        return out

    def solve(self, rule: Rule, state: State, base: Tweaks | None = None,
              keep: list[tuple[Any, bool]] | None = None) -> Outcome:
        """Solve ``rule`` for ``state`` on top of ``base``; ``keep``: (condition, wanted) pairs an
        earlier solution established, which a candidate must not break."""
        base = dict(base or {})
        self.keep = list(keep or [])
        self.reader = f"{rule.source.replace(chr(92), '/').rsplit('/', 1)[-1]}: {rule.name}"  # its queries' source
        node = parse(rule.expr)
        return self._clocked(rule, node, self._solve_rule(rule, node, state, base))

    def _solve_rule(self, rule: Rule, node: Any, state: State, base: Tweaks) -> Outcome:
        want = state == "firing"
        hold = rule.for_s + W.max_window(node, self.records) + HOLD_MARGIN_S if want else 0.0
        try:
            if self._holds(node, want, base, robust=not want):
                return Outcome(rule, state, True, "holds with the inferred values", hold, base)
            found = self._solve(node, want, base)
        except Unsupported as exc:
            return Outcome(rule, state, False, f"cannot evaluate {exc}", hold, base)
        if found is not None and self._holds(node, want, found[0], robust=False) and self._kept(found[0]):
            return Outcome(rule, state, True, "; ".join(found[1]), hold, found[0])
        if not want and not self.fires(node, base) and self._ages(node, base):
            return Outcome(rule, state, False, f"quiet when seeded, but `time() - ...` passes its threshold within "
                           f"{AGE_S / 60:g}m: a seeded timestamp is a constant (it ages; live seeding does not move it)",
                           hold, base)
        return Outcome(rule, state, False, self._why(node, want), hold, base)

    def quiet_as_inferred(self, rule: Rule) -> bool:
        """``rule`` is quiet, with margin, on the inferred values alone (no knob turned)."""
        self.keep = []
        try:
            return self._holds(parse(rule.expr), False, {}, robust=True)
        except (Unsupported, ValueError, ZeroDivisionError, RecursionError):
            return False

    def _kept(self, tweaks: Tweaks) -> bool:
        return all(self.fires(k, tweaks) == w for k, w in getattr(self, "keep", []))

    def _holds(self, node: Any, want: bool, tweaks: Tweaks, robust: bool) -> bool:
        if self.fires(node, tweaks) != want:
            return False
        if not robust:
            return True
        if not want and self._ages(node, tweaks):
            return False
        window = min(W.max_window(node, self.records) or HISTORY_S, HISTORY_S)
        for knob in self._knobs(node):
            if knob.attr in ("drop", "set", "slope", "differ", "thin") or not self._noisy(knob.metric):
                continue
            for f in (MARGIN, 1 / MARGIN):
                if self.fires(node, knob.apply(tweaks, f)) != want:
                    return False
            few = self._few_events(knob, tweaks, window)
            if few is not None and self.fires(node, few) != want:
                return False
        return True

    def _few_events(self, knob: _Knob, tweaks: Tweaks, window: float) -> Tweaks | None:
        """A counter expected to count less than a few events in the window counts whole events:
        one error among a few hundred requests is already a 0.3 % ratio (a quiet burn-rate
        alert fired on a single seeded error). The setting with those series at ``FEW_EVENTS``."""
        m = self.model.metrics[knob.metric]
        if knob.attr != "rate" or m.kind not in ("counter", "histogram") or window <= 0:
            return None
        floor, out, changed = FEW_EVENTS / window, dict(tweaks), False
        for i in knob.indexes:
            t = out.get((m.name, i)) or Tweak()
            level = m.series[i].level
            if not t.drop and level > 0 and 0 < level * t.rate < floor:
                out[(m.name, i)] = replace(t, rate=floor / level)
                changed = True
        return out if changed else None

    def _noisy(self, metric: str) -> bool:
        """Counters and histograms count Poisson events, gauges with a spread vary: margin needed."""
        m = self.model.metrics[metric]
        return m.kind in ("counter", "histogram") or m.profile.spread > 0

    def _solve(self, node: Any, want: bool, base: Tweaks, depth: int = 0) -> tuple[Tweaks, list[str]] | None:
        while isinstance(node, pp.ParenExpr):
            node = node.expr
        if isinstance(node, pp.BinaryExpr) and str(node.op) in ("and", "or", "unless"):
            split = self._split(node, want, base)
            if split is not None and self._holds(node, want, split[0], robust=False):
                return split
        found = self._search(node, want, base)
        if found is None and want and depth < 3:
            found = self._descend(node, base, depth)
        return found

    def _descend(self, node: Any, base: Tweaks, depth: int) -> tuple[Tweaks, list[str]] | None:
        """Make an inner part non-empty first (an ``and`` under a ``* on() group_left``), then the whole."""
        for child in W.children(node):
            if self.fires(child, base):
                continue
            step = self._solve(child, True, base, depth + 1)
            if step is None:
                continue
            if self.fires(node, step[0]) and self._kept(step[0]):
                return step
            rest = self._search(node, True, step[0])
            if rest is not None:
                return rest[0], step[1] + rest[1]
        return None

    def _split(self, node: Any, want: bool, base: Tweaks) -> tuple[Tweaks, list[str]] | None:
        op = str(node.op)
        # (side, wanted) steps; a list of alternatives, each a sequence of steps
        if want:
            plans = {"and": [[(node.lhs, True), (node.rhs, True)]], "unless": [[(node.lhs, True), (node.rhs, False)]],
                     "or": [[(node.lhs, True)], [(node.rhs, True)]]}[op]
        else:
            plans = {"and": [[(node.lhs, False)], [(node.rhs, False)]], "or": [[(node.lhs, False), (node.rhs, False)]],
                     "unless": [[(node.lhs, False)], [(node.rhs, True)]]}[op]
        for plan in plans:
            tweaks, notes = dict(base), list[str]()
            for side, wanted in plan:
                if self._holds(side, wanted, tweaks, robust=not wanted):
                    continue
                step = self._solve(side, wanted, tweaks)
                if step is None:
                    break
                tweaks, notes = step[0], notes + step[1]
            else:
                if self.fires(node, tweaks) == want:
                    return tweaks, notes
        return None

    def _search(self, node: Any, want: bool, base: Tweaks) -> tuple[Tweaks, list[str]] | None:
        rank = {"rate": 0, "value": 0, "slope": 0, "set": 1, "differ": 1, "thin": 2, "drop": 3}
        knobs = sorted(self._knobs(node, want), key=lambda k: rank[k.attr])  # leaving series out is the last resort
        numbers = sorted({abs(n) for n in W.numbers(node)})
        window = min(W.max_window(node, self.records) or HISTORY_S, HISTORY_S)
        for knob in knobs:
            if knob.attr == "set":
                values = [v for n in numbers for v in (n * 1.5 + 1, n / 2, n + 1, n * 2)] + [0.0, 1.0]
                if self.model.metrics[knob.metric].profile.from_now:
                    values.append(-self.now)  # a timestamp seeded relative to now: 0 is "never" (`max_over_time(ts[3h]) == 0`)
                candidates = list(dict.fromkeys(values))
            elif knob.attr in ("drop", "differ", "thin"):
                candidates = [1.0] if knob.attr == "differ" else [0.0]
            elif knob.attr == "slope":
                candidates = list(SLOPES)
            elif knob.attr == "value" and self.model.metrics[knob.metric].kind == "histogram":
                candidates = [f for f in FACTORS if f > 0]  # observations of 0 s are no distribution
            elif knob.attr == "value" and self.model.metrics[knob.metric].profile.from_now:
                # a timestamp kept relative to the seeding instant: the other side of now too
                # (an expiry already past, `probe_ssl_earliest_cert_expiry - time() < 0`)
                candidates = [*FACTORS, -1.0, -0.1, -10.0]
            elif knob.attr == "value" and self.model.metrics[knob.metric].profile.binary:
                candidates = [0.0, *(f for f in FACTORS if f != 0.0)]  # `pg_up != 1`: down is 0, not 2
            else:
                candidates = list(FACTORS)
            for f in candidates:
                tweaks = knob.apply(base, f)
                if self.fires(node, tweaks) != want or not self._kept(tweaks) or not want and self._ages(node, tweaks):
                    continue
                if knob.attr in ("rate", "value") and f not in (0.0,) and self._noisy(knob.metric):
                    if any(self.fires(node, knob.apply(base, f * g)) != want for g in (MARGIN, 1 / MARGIN)):
                        continue
                    few = None if want else self._few_events(knob, tweaks, window)
                    if few is not None and self.fires(node, few):
                        continue
                if not want and not self._holds(node, want, tweaks, robust=True):
                    continue  # quiet must survive the noise of every input, not only the knob's
                return tweaks, [knob.describe(f)]
        return self._fine(node, want, base, knobs)

    def _fine(self, node: Any, want: bool, base: Tweaks, knobs: list[_Knob]) -> tuple[Tweaks, list[str]] | None:
        """The last resort: a fine grid of factors for steady gauges (a band no coarse factor hits)."""
        for knob in knobs:
            if knob.attr != "value" or self._noisy(knob.metric) or self.model.metrics[knob.metric].kind != "gauge":
                continue
            broken = 0  # candidates that hold but undo another alert's solution: a few, then the next knob
            for f in sorted(FINE, key=lambda x: abs(math.log(x))):
                tweaks = knob.apply(base, f)
                if self.fires(node, tweaks) != want or not want and self._ages(node, tweaks):
                    continue
                if self._kept(tweaks):
                    return tweaks, [knob.describe(round(f, 3))]
                broken += 1
                if broken >= 8:
                    break
        return None

    def _knobs(self, node: Any, want: bool = True) -> Iterator[_Knob]:
        seen = set()
        funcs = {c.func.name for c in W.calls(node)}
        trends = bool(funcs & (set(TREND) | {"changes"}))
        spreads = any(isinstance(n, pp.AggregateExpr) and str(n.op) in ("stdvar", "stddev", "count_values")
                      for n in W.walk(node))
        # "No series" solves only a condition that asks for it (absent(), `or vector(0)`), and
        # only for firing (an alert asked to fire): a quiet condition made empty by leaving its
        # input out would leave the panels and the other alerts reading that input with nothing,
        # and the rule itself never evaluated over data (verify reports such a metric empty).
        # For firing, a metric only this rule reads may be left out (nothing else would miss it);
        # for quiet, at most all but one of its series ("thin": fewer series to count).
        may_drop = want and bool(funcs & ABSENT)
        own = {getattr(self, "reader", "")}
        for vs, outer in W.selectors_outer(node, self.records):
            name = name_of(vs) or ""
            found = self.model.by_series_name(name)
            if found is None:
                continue
            metric, suffix = found
            idx = tuple(matching(metric, matchers_of(vs)))
            label = vs.prettify() if hasattr(vs, "prettify") else name
            # A recorded series read as `record{code=~"5.."}`: its inputs' series with that label
            # value (the rule keeps the label) are the knob, not all of them (a ratio of the
            # recorded 5xx share would not move if every input series were scaled alike).
            names = {k for s in metric.series for k in s.labels}
            extra = tuple(m for m in outer if m.name in names)
            narrowed = tuple(i for i in idx if i in set(matching(metric, extra)))
            if extra and narrowed:
                idx = narrowed
                more = ",".join(f'{m.name}{m.op}"{m.value}"' for m in extra)
                label = (label[:-1] + "," + more + "}" if label.endswith("}") else label + "{" + more + "}")
                label += " (through a recording rule)"
            if not idx:
                continue
            attrs: list[Literal["rate", "value", "set", "drop", "slope", "differ", "thin"]]
            if metric.kind == "counter":
                attrs = ["rate", "drop"]
            elif metric.kind == "histogram":
                attrs = ["value", "rate", "drop"] if suffix == "_bucket" else ["rate", "value", "drop"]
            else:
                attrs = ["value", "slope", "set", "drop"] if trends else ["value", "set", "drop"]
                if spreads and len(idx) > 1:
                    attrs.append("differ")
            levels = tuple(metric.series[i].level for i in idx)
            only_reader = metric.sources <= own
            if not may_drop and not (want and only_reader):
                attrs = [a for a in attrs if a != "drop"]
            # one series kept of the few a narrow selector picks (`up{job=~"thanos-compact.*"}`), or
            # of a metric no panel splits: every reader still finds one (`sum(...) > 1` quiet beside
            # `absent(... == 1)`)
            panels = any(src.split(": ", 1)[0].endswith(".json") for src in metric.sources)
            if len(idx) > 1 and (only_reader or len(idx) < len(metric.series) or not panels):
                attrs.append("thin")
            for attr in attrs:
                key = (metric.name, idx, attr)
                if key not in seen:
                    seen.add(key)
                    yield _Knob(metric.name, idx, attr, label, levels)

    def _why(self, node: Any, want: bool) -> str:
        text = node.prettify().replace("\n", " ") if hasattr(node, "prettify") else str(node)
        text = re.sub(r"\s+", " ", text)
        verb = "true" if want else "false"
        if not list(W.selectors(node, self.records)):
            return f"`{text}` reads no metric: it is {'false' if want else 'true'} whatever is seeded (a Watchdog-style rule)"
        funcs = {c.func.name for c in W.calls(node)} & set(TREND)
        if funcs:
            return (f"`{text}` depends on {', '.join(sorted(funcs))}(): no level or trend (up to 5x the level per "
                    f"hour) of its inputs makes it {verb}")
        if any(name_of(vs) is None for vs in W.selectors(node, self.records)):
            return f"`{text}` selects series by labels only (no metric name): there is no metric to synthesize"
        own = sorted({n for vs in W.selectors(node, self.records) if (n := name_of(vs) or "") in RULE_MANAGER_SERIES})
        if own:
            return (f"`{text}` reads {', '.join(own)}, which Prometheus writes for the alerts that are active: it "
                    f"follows the other alerts' states, there is nothing to seed for it")
        missing = [(name_of(vs) or "?") for vs in W.selectors(node, self.records)
                   if self.model.by_series_name(name_of(vs) or "") is None and (name_of(vs) or "") not in self.records]
        if missing:
            return f"`{text}` reads {', '.join(sorted(set(missing)))}, which no input defines"
        unmatched = self._unmatched(node)
        if unmatched and want:
            return f"`{text}` can never be true: {unmatched}: Prometheus matches label sets the same way"
        return f"no scaling of its inputs makes `{text}` {verb} (tried rates, values x0.001..x1e6, thresholds)"

    def _unmatched(self, node: Any) -> str | None:
        """A one-to-one operator whose sides never share a label set (`max by (a) (x) * y`, y
        has `instance` too): the rule is empty whatever the values, say which labels differ."""
        drops: Tweaks = {}  # `x unless y` as x: the label sets are the question, not y's presence
        for n in W.walk(node):
            if isinstance(n, pp.BinaryExpr) and str(n.op) == "unless":
                for vs in W.selectors(n.rhs, self.records):
                    found = self.model.by_series_name(name_of(vs) or "")
                    if found is not None:
                        drops.update({(found[0].name, i): Tweak(drop=True) for i in range(len(found[0].series))})
        env = self.env(drops)
        for n in W.walk(node):
            if not isinstance(n, pp.BinaryExpr) or str(n.op) in ("and", "or", "unless"):
                continue
            try:
                lhs, rhs = as_vec(evaluate(n.lhs, env)), as_vec(evaluate(n.rhs, env))
            except (Unsupported, ValueError, ZeroDivisionError, RecursionError):
                continue
            if not lhs or not rhs or isinstance(n.lhs, pp.NumberLiteral) or isinstance(n.rhs, pp.NumberLiteral):
                continue
            mod = n.modifier
            listed = set(mod.matching.labels) if mod is not None and mod.matching is not None else set()
            on = listed if mod is not None and mod.matching is not None and str(mod.matching.type).endswith("Include") else None
            ignoring = listed if on is None else set()
            if W.signatures(lhs, on, ignoring) & W.signatures(rhs, on, ignoring):
                continue
            names = [{k for lab, _v in vec for k in lab if k != "__name__"} - ignoring for vec in (lhs, rhs)]
            only = sorted(names[0] ^ names[1]) if on is None else sorted(on)
            side = re.sub(r"\s+", " ", n.prettify() if hasattr(n, "prettify") else str(n))[:160]
            return (f"the sides of `{side}` never match one to one (labels on one side only: {', '.join(only)})"
                    if only else f"the sides of `{side}` never share a label set")
        return None
