import json
from pathlib import Path

from stackctl.seeding.catalog import load_scenario
from stackctl.seeding.generate import PhaseTimeline, grid
from stackctl.seeding.loggen import build_log_generators, merge
from stackctl.seeding.loki import build_push_payload

CATALOG = Path(__file__).resolve().parents[3] / "fixtures" / "scenarios"
END = 1_800_000_000_000


def test_payload_matches_lokis_documented_push_format() -> None:
    payload = build_push_payload({(("level", "info"), ("service", "x")): [(20, "b"), (10, "a")]})
    # POST /loki/api/v1/push: {"streams": [{"stream": {labels}, "values": [["<ns string>", "line"]]}]}
    assert payload == {"streams": [{"stream": {"level": "info", "service": "x"},
                                    "values": [["10", "a"], ["20", "b"]]}]}
    json.dumps(payload)


def test_generated_logs_are_ordered_structured_and_in_phase() -> None:
    sc = load_scenario("preview-failures", CATALOG)
    gens = build_log_generators(sc.logs, PhaseTimeline(sc.phases, END), 5, 15)
    entries = merge([g.advance(grid(END, 1800, 15)) for g in gens])
    payload = build_push_payload(entries)
    errors_recent = 0
    for stream in payload["streams"]:
        assert stream["stream"]["service"] == "preview-jobs"
        ns = [int(v[0]) for v in stream["values"]]
        assert ns == sorted(ns) and all(isinstance(v[0], str) for v in stream["values"])
        for _, line in stream["values"]:
            doc = json.loads(line)
            assert doc["level"] == stream["stream"]["level"] and "job_id" in doc
        if stream["stream"]["level"] == "error":
            errors_recent = sum(1 for n in ns if n > (END - 600_000) * 1_000_000)
    assert errors_recent > 20  # the failing phase logs renderer errors
