"""From files to a scenario: collect, walk, build the model, solve the alerts, write the YAML.

``generate`` is what ``stackctl scenarios generate`` and ``stackctl seed --from`` run. Alerts
are first all solved quiet (each on top of the others' changes); for ``firing``, the chosen
alert (or every alert) is then solved on top of that, its changes kept for the last phase.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator, Literal

import yaml

from stackctl.errors import ScenarioError
from stackctl.seeding.checks import semantic_problems
from stackctl.seeding.scenario import Scenario, raise_problems
from stackctl.seeding.synth import collect as C
from stackctl.seeding.synth import exprs as E
from stackctl.seeding.synth import model as M
from stackctl.seeding.synth.alerts import Outcome, Rule, Solver, Tweaks, parsed_records
from stackctl.seeding.synth.chains import RULE_MANAGER_SERIES, through_records
from stackctl.seeding.synth.emit import Plan, scenario_text
from stackctl.seeding.synth.evaluate import Tweak, Unsupported, as_vec, evaluate
from stackctl.seeding.synth.functions import make_env
from stackctl.seeding.synth.logs import log_streams
from stackctl.yamlfile import LocatedYaml, validate

State = Literal["firing", "quiet"]


@dataclass
class Generated:
    text: str
    plan: Plan
    inputs: C.Inputs

    @property
    def summary(self) -> dict[str, object]:
        """What `seed status` and `scenarios generate` report: metrics, series, from which files."""
        m = self.plan.model.metrics
        return {"scenario": self.plan.name, "files": self.plan.files, "metrics": len(m),
                "series": sum(len(x.series) for x in m.values()), "panels": self.inputs.panels,
                "queries": len(self.inputs.queries),
                "alerts": {o.rule.name: ("ok" if o.solved else "unsolved: " + o.note) for o in self.plan.outcomes},
                "skipped": self.plan.skipped}


def scenario_of(generated: Generated) -> Scenario:
    """The generated text as a validated Scenario, without a file round trip (libyaml: the
    catalog's line-tracking reader takes seconds on a few hundred metrics)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = LocatedYaml(generated.plan.name, yaml.load(generated.text, Loader=loader))
    sc = validate(doc, Scenario, error=ScenarioError)
    raise_problems(semantic_problems(sc), generated.plan.name, doc.line_of)
    return sc


def walk_queries(queries: Iterable[M.Query]) -> tuple[list[tuple[M.Query, E.Walk]], list[str]]:
    walks, skipped = [], []
    for q in queries:
        text = E.substitute(q.expr, q.values)
        try:
            walks.append((q, E.walk(text)))
        except ValueError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "parse error"
            skipped.append(f"{q.source}: not PromQL ({first}): {q.expr.strip()[:120]}")
    return walks, skipped


def generate(paths: Iterable[Path], state: State = "quiet", alert: str | None = None, name: str | None = None,
             now: float | None = None) -> Generated:
    now = now if now is not None else time.time()
    inputs = C.collect(list(paths))
    walks, skipped = walk_queries(inputs.queries)
    walks = through_records(walks, inputs.rules)  # record{code=~"5.."}: its inputs get a 5xx series
    # ALERTS/ALERTS_FOR_STATE: the rule manager writes them from the alerts that are active; never
    # seeded with rules, nor in a quiet scenario (a "firing alerts" stat shows none, as it should)
    names_read = {u.metric for _q, w in walks for u in w.uses}
    recorded = {r.name for r in inputs.rules if r.kind == "record"} | (
        RULE_MANAGER_SERIES & names_read if inputs.rules or state == "quiet" else set())
    model = M.build(walks, recorded)
    direct = _unreachable_records(walks, inputs.rules, model, now)
    if direct:  # seed them as gauges with the labels the panels ask, the rules' own output stays
        model = M.build(_without(walks, direct), recorded - direct)
        for n in direct:
            m = model.metrics.get(n)
            if m is not None:
                m.profile = replace(m.profile, why=m.profile.why + "; recorded by a rule whose inputs are pinned to other "
                                    "labels than the panels ask: seeded directly with the panels' labels")
    if not model.metrics and not inputs.logs:
        read = ", ".join(Path(f).name for f in inputs.files) or "no dashboard or rule file"
        why = "; ".join(inputs.skipped + skipped)[:300]
        raise ScenarioError(f"nothing to synthesize: no Prometheus query in {read} reads a metric"
                            + (f" ({why})" if why else ""),
                            hint="give dashboards with Prometheus panels or rule files (--from PATH)")
    broken = [r for r in inputs.rules if not _parses(r.expr)]  # reported by walk_queries
    inputs.rules = [r for r in inputs.rules if r not in broken]
    alerts = [r for r in inputs.rules if r.kind == "alert"]
    if alert is not None and alert not in {r.name for r in alerts}:
        known = ", ".join(sorted({r.name for r in alerts})) or "none"
        raise ScenarioError(f"no alert {alert!r} in the given rule files", hint=f"alerts found: {known}")
    targets = [r for r in alerts if state == "firing" and (alert is None or r.name == alert)]
    solver = Solver(model, inputs.rules, now)
    outcomes: list[Outcome] = []
    others: Tweaks = {}  # every other alert quiet
    keep: list[tuple[object, bool]] = []
    # Alerts already quiet with the inferred values first: the others' solutions must keep them
    # so (`sum(up{job=~"x.*"}) > 1` scaled down would break `absent(up{job=~"x.*"} == 1)` after it).
    quiet_first = sorted((r for r in alerts if r not in targets),
                         key=lambda r: not solver.quiet_as_inferred(r))
    for r in quiet_first:
        o = solver.solve(r, "quiet", others, keep)
        others = o.tweaks if o.solved else others
        outcomes.append(o)
        keep += [(E.parse(r.expr), False)] if o.solved else []
    order = {id(r): i for i, r in enumerate(alerts)}
    outcomes.sort(key=lambda o: order[id(o.rule)])
    base = dict(others)  # the healthy phase: the targets quiet too
    quiet_keep = list(keep)
    for r in targets:
        o = solver.solve(r, "quiet", base, quiet_keep)
        # a series left out is left out in the firing phase too: no healthy phase bought that way
        ok = o.solved and not any(t.drop and not (base.get(k) or Tweak()).drop for k, t in o.tweaks.items())
        base = o.tweaks if ok else base
        quiet_keep += [(E.parse(r.expr), False)] if ok else []
    firing: Tweaks = dict(others)
    hold = 0.0
    # absent() alerts last: their solution (no series) undoes every alert reading the same metric
    for r in sorted(targets, key=lambda r: _absence(r.expr)):
        o = solver.solve(r, "firing", firing, keep)
        if not o.solved:  # it cannot fire alone: let alerts that follow from it fire too
            o = solver.solve(r, "firing", firing, [(k, w) for k, w in keep if w])
        if o.solved:
            firing, hold = o.tweaks, max(hold, o.hold_s)
            keep.append((E.parse(r.expr), True))
        else:
            o = _conflict(solver, r, o, others, firing, outcomes)
        outcomes.append(o)
    outcomes.sort(key=lambda o: order[id(o.rule)])  # the files' order again
    if targets:  # a series left out in one phase is left out throughout (emit): check what is written
        dropped = {k for k, t in list(base.items()) + list(firing.items()) if t.drop}
        base = {**base, **{k: replace(base.get(k) or Tweak(), drop=True) for k in dropped}}
        firing = {**firing, **{k: replace(firing.get(k) or Tweak(), drop=True) for k in dropped}}
    outcomes = _recheck(solver, outcomes, base, firing if targets else base)
    phase = {k: firing.get(k) or Tweak() for k in set(firing) | set(base)
             if (firing.get(k) or Tweak()) != (base.get(k) or Tweak())} if targets else {}
    streams, unwritten = log_streams(inputs.logs, model)
    plan = Plan(model, name or _name(_feeding(inputs.files, model), state, alert), base, phase, hold, outcomes,
                inputs.skipped + skipped + unwritten, now, state, inputs.files, streams)
    return Generated(scenario_text(plan), plan, inputs)


def _conflict(solver: Solver, rule: Rule, failed: Outcome, others: Tweaks, firing: Tweaks,
              outcomes: list[Outcome]) -> Outcome:
    """An alert that fires alone but not with the others: name the alerts setting the same series
    the other way (redis_connected_clients < 5 and > 100), so it can be seeded on its own."""
    node = E.parse(rule.expr)
    # its own changes on top of the firing phase: the alerts that stop firing are its rivals (not
    # every alert that fires: those the healthy baseline of the solution alone keeps quiet); else
    # the firing phase with its inputs reset (`ratio == 1` beside `ratio > 0.9 < 1` and `> 1`)
    for alone, merged in _alone(solver, rule, others, firing):
        if not solver.fires(node, merged):
            continue
        rivals = sorted({o.rule.name for o in outcomes if o.state == "firing" and o.solved
                         and not solver.fires(E.parse(o.rule.expr), merged)})
        if rivals == [rule.name]:  # --alert NAME selects both rules: no way to seed it alone
            return Outcome(rule, "firing", False, f"fires alone ({alone.note}), but another rule named {rule.name} "
                           "needs the same series the other way: the two rules of that name cannot fire at once",
                           failed.hold_s, failed.tweaks)
        if rivals:
            return Outcome(rule, "firing", False, f"fires alone ({alone.note}), but {', '.join(rivals)} set(s) the same "
                           f"series the other way: seed it on its own with --alert {rule.name}", failed.hold_s, failed.tweaks)
    return failed


def _alone(solver: Solver, rule: Rule, others: Tweaks, firing: Tweaks) -> Iterator[tuple[Outcome, Tweaks]]:
    alone = solver.solve(rule, "firing", others, [])
    if alone.solved:
        yield alone, {**firing, **{k: t for k, t in alone.tweaks.items() if t != (others.get(k) or Tweak())}}
    read = _reads(solver, rule)
    alone = solver.solve(rule, "firing", {k: t for k, t in firing.items() if k[0] not in read}, [])
    if alone.solved:
        yield alone, alone.tweaks


def _reads(solver: Solver, rule: Rule) -> set[str]:
    """The model metrics ``rule`` reads, through the recording rules it reads too."""
    names, todo, seen = set(), [rule.expr], set()
    while todo:
        expr = todo.pop()
        for u in E.walk(expr).uses:
            if u.metric in solver.records and u.metric not in seen:
                seen.add(u.metric)
                todo.append(solver.records[u.metric].prettify())
            found = solver.model.by_series_name(u.metric)
            names |= {found[0].name} if found else set()
    return names


def _unreachable_records(walks: list[tuple[M.Query, E.Walk]], rules: list[Rule], model: M.SynthModel,
                         now: float) -> set[str]:
    """Recorded names a dashboard reads with labels the rule's output never has (the panel asks
    job="node", the rule reads job="node-exporter"): no seeded input can feed those panels."""
    records = parsed_records(rules)
    env = make_env(model, {}, records, now)
    out: set[str] = set()
    for q, w in walks:
        if not q.file.endswith(".json"):
            continue
        for u in w.uses:
            if u.metric not in records or u.metric in out:
                continue
            try:
                vec = as_vec(evaluate(records[u.metric], env))
            except (Unsupported, ValueError, ZeroDivisionError, RecursionError):
                continue
            if vec and not any(all(m.matches(lab.get(m.name, "")) for m in u.matchers) for lab, _v in vec):
                out.add(u.metric)
    return out


def _without(walks: list[tuple[M.Query, E.Walk]], names: set[str]) -> list[tuple[M.Query, E.Walk]]:
    """The rules' uses of ``names`` left out: the rules compute those series themselves."""
    return [(q, w if q.file.endswith(".json") else E.Walk([u for u in w.uses if u.metric not in names], w.joins))
            for q, w in walks]


def _feeding(files: list[str], model: M.SynthModel) -> list[str]:
    """The files whose queries read a synthesized metric first (the scenario is named after one)."""
    used = {src.split(": ", 1)[0] for m in model.metrics.values() for src in m.sources}
    return [f for f in files if Path(f).name in used] + [f for f in files if Path(f).name not in used]


def _absence(expr: str) -> bool:
    """Does the condition fire on a metric's absence (``absent(x)``, ``absent_over_time``)?"""
    return bool(re.search(r"\babsent(_over_time)?\s*\(", expr))


def _parses(expr: str) -> bool:
    try:
        E.parse(expr)
    except ValueError:
        return False
    return True


def _recheck(solver: Solver, outcomes: list[Outcome], base: Tweaks, firing: Tweaks) -> list[Outcome]:
    """A later solution may undo an earlier one: say so instead of promising it."""
    out = []
    for o in outcomes:
        node = E.parse(o.rule.expr)
        if o.solved and o.state == "firing" and not solver.fires(node, firing):
            o = Outcome(o.rule, o.state, False, "solved alone, but another alert's solution undoes it", o.hold_s)
        elif o.solved and o.state == "quiet" and solver.fires(node, base):
            o = Outcome(o.rule, o.state, False, "solved alone, but another alert's solution undoes it", o.hold_s)
        elif o.solved and o.state == "quiet" and firing != base and solver.fires(node, firing):
            o = Outcome(o.rule, o.state, False, "quiet at first, but fires too in the firing phase "
                        "(its condition follows the one under test)", o.hold_s, o.tweaks)
        out.append(o)
    return out


def safe_name(text: str) -> str:
    """A scenario name: lower case, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text).lower()).strip("-")


def _name(files: list[str], state: State, alert: str | None) -> str:
    stem = Path(files[0]).stem if files else "generated"
    base = safe_name(f"synth-{stem}" + (f"-{alert}" if alert else "") + (f"-{state}" if state == "firing" else ""))
    return re.sub(r"-+", "-", base)[:60].strip("-") or "synth"
