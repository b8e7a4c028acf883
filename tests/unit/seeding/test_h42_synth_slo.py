"""Alert-solving classes an evaluation on SLO rule files found (Sloth/Pyrra-generated
multi-window burn-rate alerts, hand-written rules of unusual shapes), on fixtures in their
shapes (tests/fixtures/synth/classes/h42-*/)."""

from __future__ import annotations

from pathlib import Path

from stackctl.seeding.synth.alerts import Rule, parsed_records, recorded
from stackctl.seeding.synth.evaluate import as_vec, evaluate
from stackctl.seeding.synth.functions import make_env
from stackctl.seeding.synth.model import SynthModel
from stackctl.seeding.synth.pipeline import generate

CLASSES = Path(__file__).resolve().parents[2] / "fixtures" / "synth" / "classes"
NOW = 1_800_000_000.0


def test_recorded_series_carry_the_rules_labels() -> None:
    """Was: a recorded series lacked its rule's `labels:`, and a second rule recording the same
    name replaced the first; `slo:sli_error:ratio_rate5m{sloth_id="..."}` selected nothing, so
    every Sloth alert was "unsolved: no scaling of its inputs makes ... true"."""
    rules = [Rule("slo:objective:ratio", "vector(0.999)", "record", labels=(("sloth_id", "a"), ("tier", "2"))),
             Rule("slo:objective:ratio", "vector(0.99)", "record", labels=(("sloth_id", "b"),))]
    assert " or " in recorded(rules)["slo:objective:ratio"]
    env = make_env(SynthModel(), {}, parsed_records(rules), NOW)
    vec = as_vec(evaluate(parsed_records([Rule("x", 'slo:objective:ratio{sloth_id="b"}', "record")])["x"], env))
    assert [(lab.get("sloth_id"), v) for lab, v in vec] == [("b", 0.99)]


def test_sloth_burn_rate_alerts_are_solved_for_each_slo() -> None:
    for alert in ("MyServiceHighErrorRate", "PaymentsGrpcErrorBudgetBurn"):
        g = generate([CLASSES / "h42-record-labels"], "firing", alert, now=NOW)
        fired = [o for o in g.plan.outcomes if o.state == "firing"]
        assert fired and all(o.solved for o in fired), [(o.rule.name, o.note) for o in fired]
    quiet = generate([CLASSES / "h42-record-labels"], "quiet", now=NOW)
    assert all(o.solved for o in quiet.plan.outcomes), [(o.rule.name, o.note) for o in quiet.plan.outcomes]
