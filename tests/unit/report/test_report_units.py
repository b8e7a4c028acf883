"""Grafana's unit formatting and colours, as the report prints them."""

from __future__ import annotations

import math

import pytest

from stackctl.report.colors import css, legacy_thresholds, thresholds_from
from stackctl.report.units import format_value


@pytest.mark.parametrize(("value", "unit", "decimals", "text"), [
    (1234, "short", None, "1.23 K"),
    (1_234_567, "short", None, "1.23 Mil"),
    (12, None, None, "12"),
    (0.0123, "short", None, "0.0123"),
    (0.25, "percentunit", None, "25%"),
    (25.1234, "percent", None, "25.1%"),
    (25.1234, "percent", 2, "25.12%"),
    (1536, "bytes", None, "1.5 KiB"),
    (100, "bytes", None, "100 B"),
    (3000, "decbytes", None, "3 kB"),
    (0.25, "s", None, "250 ms"),
    (90, "s", None, "1.5 min"),
    (7200, "s", None, "2 hour"),
    (45_000, "ms", None, "45 s"),
    (120, "ms", None, "120 ms"),
    (3.2, "reqps", None, "3.2 req/s"),
    (3200, "reqps", None, "3.2K req/s"),
    (0.5, "ops", None, "0.5 ops/s"),
    (5, "widgets", None, "5 widgets"),
    (5, "suffix: jobs", None, "5 jobs"),
    (None, "short", None, "No data"),
])
def test_values_print_as_grafana_units_do(value: float | None, unit: str | None, decimals: int | None, text: str) -> None:
    assert format_value(value, unit, decimals) == text


def test_non_finite_values_are_named() -> None:
    assert format_value(math.nan, "short") == "NaN"
    assert format_value(math.inf, "percent") == "+Inf%"


def test_grafana_colour_names_and_css_colours() -> None:
    assert css("green") == "#73BF69" and css("dark-red") == "#C4162A" and css("semi-dark-orange") == "#FF780A"
    assert css("rgba(255, 0, 0, 0.5)") == "#FF00007F" and css("#abc") == "#aabbcc"
    assert css("nonsense", "#000000") == "#000000"


def test_threshold_steps_pick_the_highest_step_reached() -> None:
    t = thresholds_from({"thresholds": {"mode": "absolute", "steps": [
        {"color": "green", "value": None}, {"color": "red", "value": 10}, {"color": "orange", "value": 5}]}})
    assert [t.color_for(v) for v in (0, 5, 9.9, 10, 1e9)] == [css("green"), css("orange"), css("orange"), css("red"), css("red")]
    assert t.color_for(None) == css("text")


def test_percentage_thresholds_are_relative_to_min_and_max() -> None:
    t = thresholds_from({"thresholds": {"mode": "percentage", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 50}]}})
    assert t.color_for(40, 0, 200) == css("green") and t.color_for(120, 0, 200) == css("red")


def test_defaults_and_legacy_singlestat_thresholds() -> None:
    default = thresholds_from({})
    assert default.color_for(79) == css("green") and default.color_for(80) == css("red")
    legacy = legacy_thresholds("50,80", ["#299c46", "rgba(237, 129, 40, 0.89)", "#d44a3a"])
    assert legacy.color_for(10) == "#299c46" and legacy.color_for(60) == "#ED8128E2" and legacy.color_for(99) == "#d44a3a"


def test_overrides_rename_recolour_hide_and_negate_matching_series() -> None:
    from stackctl.report.collect import Series, styled

    overrides = (
        {"matcher": {"id": "byName", "options": "tx"}, "properties": [{"id": "custom.transform", "value": "negative-Y"},
                                                                        {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}}]},
        {"matcher": {"id": "byRegexp", "options": "/^lo.*/"}, "properties": [{"id": "custom.hideFrom", "value": {"viz": True, "legend": True}}]},
        {"matcher": {"id": "byFrameRefID", "options": "B"}, "properties": [{"id": "displayName", "value": "Errors"}]},
    )
    series = [Series("tx", "A", {}, (1.0,), (2.0,)), Series("lo0", "A", {}, (1.0,), (1.0,)), Series("5xx", "B", {}, (1.0,), (3.0,))]
    out = styled(series, overrides)
    assert [(s.name, s.values, s.color) for s in out] == [("tx", (-2.0,), css("red")), ("Errors", (3.0,), None)]


def test_value_mappings_first_match_wins() -> None:
    from stackctl.report.mappings import mapped

    maps = [{"type": "value", "options": {"1": {"text": "UP", "color": "green"}, "0": {"text": "DOWN", "color": "red"}}},
            {"type": "range", "options": {"from": 2, "to": 10, "result": {"text": "many", "color": "orange"}}},
            {"type": "special", "options": {"match": "null", "result": {"text": "n/a"}}},
            {"type": "regex", "options": {"pattern": "^1[0-9]{2}$", "result": {"color": "blue"}}}]
    hit = mapped(maps, 1.0, "1")
    assert hit is not None and (hit.text, hit.color) == ("UP", css("green"))
    down = mapped(maps, 0.0, "0")
    assert down is not None and down.text == "DOWN"
    many = mapped(maps, 5.0, "5")
    assert many is not None and many.text == "many"
    none = mapped(maps, None, "No data")
    assert none is not None and none.text == "n/a"
    blue = mapped(maps, 150.0, "150")
    assert blue is not None and blue.text is None and blue.color == css("blue")
    assert mapped(maps, 11.0, "11") is None
