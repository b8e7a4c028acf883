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


def _at(hour: int, minute: int = 0) -> float:
    """A Tuesday (2026-12-01) at this UTC time."""
    return 1_796_083_200.0 + hour * 3600 + minute * 60


def test_clock_functions_read_the_seeding_time() -> None:
    """Was: hour(), day_of_week() evaluated as 1 whatever the time: `and on() hour() >= 9` was
    promised firing at night, and quiet was claimed without looking at the clock."""
    day = generate([CLASSES / "h42-clock"], "firing", "NoOrders", now=_at(12))
    assert [o.solved for o in day.plan.outcomes if o.state == "firing"] == [True]
    night = generate([CLASSES / "h42-clock"], "firing", "NoOrders", now=_at(3))
    fired = [o for o in night.plan.outcomes if o.state == "firing"]
    assert not fired[0].solved and "reads the clock (hour())" in fired[0].note, fired[0].note
    late = generate([CLASSES / "h42-clock"], "firing", "ApiDownBusinessHours", now=_at(16, 59))
    fired = [o for o in late.plan.outcomes if o.state == "firing"]
    assert not fired[0].solved and "stops holding" in fired[0].note, fired[0].note
    quiet = generate([CLASSES / "h42-clock"], "quiet", now=_at(12))
    assert all(o.solved for o in quiet.plan.outcomes), [(o.rule.name, o.note) for o in quiet.plan.outcomes]


def test_absent_alerts_are_solved_after_the_ones_reading_the_metric() -> None:
    """Was: the absent() alert, first in the file, took the metric away in the firing phase and
    every burn-rate alert was "fires alone, but SLOMetricAbsent sets the same series"."""
    g = generate([CLASSES / "h42-absent-last"], "firing", now=NOW)
    solved = {o.rule.name: o.solved for o in g.plan.outcomes if o.state == "firing"}
    assert solved == {"ErrorBudgetBurn": True, "SLOMetricAbsent": False}
    alone = generate([CLASSES / "h42-absent-last"], "firing", "SLOMetricAbsent", now=NOW)
    assert all(o.solved for o in alone.plan.outcomes if o.state == "firing")


def test_quiet_burn_rate_leaves_no_fraction_of_an_event() -> None:
    """Was: quiet scaled the 5xx counter x0.2 (0.0001 errors/s: a fraction of one event in the
    seeded half hour); the one error Poisson drew made the 6h ratio 0.0013 > 0.001: firing."""
    g = generate([CLASSES / "h42-few-events"], "quiet", now=NOW)
    assert all(o.solved for o in g.plan.outcomes), [(o.rule.name, o.note) for o in g.plan.outcomes]
    m = g.plan.model.metrics["http_request_duration_seconds"] if "http_request_duration_seconds" in g.plan.model.metrics \
        else g.plan.model.metrics["http_request_duration_seconds_count"]
    for i, s in enumerate(m.series):
        if s.labels.get("code", "").startswith("5"):
            t = g.plan.base.get((m.name, i))
            rate = s.level * (t.rate if t else 1.0) * (0.0 if t and t.drop else 1.0)
            assert rate == 0.0 or rate * 1800 >= 3, rate


def test_a_timestamp_compared_with_zero_stays_a_timestamp() -> None:
    """Was: `max_over_time(ts[3h]) == 0` made the timestamp a 0/1 state (value 1): `time() - ts
    > 3h` could not be quiet. Now a timestamp; firing the `== 0` rule sets it to 0 ("never"), and
    the two rules of one name that want it both ways are said to exclude each other."""
    quiet = generate([CLASSES / "h42-timestamp-zero"], "quiet", now=NOW)
    assert all(o.solved for o in quiet.plan.outcomes), [(o.rule.name, o.note) for o in quiet.plan.outcomes]
    firing = [o for o in generate([CLASSES / "h42-timestamp-zero"], "firing", now=NOW).plan.outcomes
              if o.state == "firing"]
    assert [o.solved for o in firing] == [True, False], [o.note for o in firing]
    assert "another rule named LokiCompactorHasNotSuccessfullyRunCompaction" in firing[1].note


def test_the_one_side_of_a_group_left_has_one_series_per_key() -> None:
    """Was: velero_backup_attempt_total got a series per instance and schedule; Prometheus
    refused the rule ("found duplicate series for the match group {schedule="6hrly"} on the right
    hand-side"), verify reported it unhealthy."""
    for state in ("quiet", "firing"):
        g = generate([CLASSES / "h42-one-side"], state, now=NOW)
        schedules = [s.labels.get("schedule") for s in g.plan.model.metrics["velero_backup_attempt_total"].series]
        assert len(schedules) == len(set(schedules)) and {"6hrly", "daily"} <= set(schedules), schedules
        assert all(o.solved for o in g.plan.outcomes), [(o.rule.name, o.note) for o in g.plan.outcomes]


def test_quiet_survives_the_noise_of_every_input() -> None:
    """Was: velero quiet was bought by moving the timestamp only; the counter added to the age
    (5/s, read raw) came out 30 % above its expected value and the alert went pending."""
    from dataclasses import replace

    from stackctl.seeding.synth.alerts import Solver
    from stackctl.seeding.synth.evaluate import Tweak
    from stackctl.seeding.synth.exprs import parse

    g = generate([CLASSES / "h42-one-side"], "quiet", now=NOW)
    rule = next(o.rule for o in g.plan.outcomes)
    solver = Solver(g.plan.model, [rule], NOW)
    m = g.plan.model.metrics["velero_backup_attempt_total"]
    noisy = dict(g.plan.base)
    for i in range(len(m.series)):
        t = noisy.get((m.name, i)) or Tweak()
        noisy[(m.name, i)] = replace(t, rate=t.rate * 1.3)
    assert not solver.fires(parse(rule.expr), g.plan.base)
    assert not solver.fires(parse(rule.expr), noisy)


def test_expected_alerts_wait_for_their_groups_interval() -> None:
    """Was: `within: 2m` for an alert whose group evaluates every 2m30s (Pyrra's increase group):
    verify called the promise broken before the group had looked twice."""
    g = generate([CLASSES / "h42-absent-last"], "firing", "SLOMetricAbsent", now=NOW)
    assert "{name: SLOMetricAbsent, state: pending, within: 6m}" in g.text, g.text[-800:]
    g = generate([CLASSES / "h42-absent-last"], "firing", "ErrorBudgetBurn", now=NOW)
    assert "within: 2m" in g.text
