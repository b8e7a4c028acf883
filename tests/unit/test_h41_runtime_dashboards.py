"""Failure classes an evaluation on application-runtime, proxy and datastore dashboards found
(Traefik's official dashboard, nginx-prometheus-exporter, the Celery mixin, Spring Boot), each on
a fixture in the public file's shape (tests/fixtures/synth/classes/h41-<class>/)."""

from __future__ import annotations

from pathlib import Path

from stackctl.dashboards.variables import apply_regex
from stackctl.seeding.synth.labels import example
from stackctl.seeding.synth.pipeline import generate, scenario_of

CLASSES = Path(__file__).resolve().parents[1] / "fixtures" / "synth" / "classes"
NOW = 1_800_000_000.0


def _values(sc: object, metric: str, label: str) -> list[str]:
    for m in sc.metrics:  # type: ignore[attr-defined]
        if m.name == metric:
            return [s.labels[label] for s in m.series if label in s.labels]
    raise AssertionError(f"{metric} not synthesized")


def test_variable_regex_keeps_synthesized_values() -> None:
    """Traefik's `service` variable lists label_values(traefik_service_open_connections, service)
    through the regex /([^-]+-[^-]+).*/: the synthesized values (api, worker) matched none, so
    the variable had no options and its panels read `service=~"().*"`."""
    sc = scenario_of(generate([CLASSES / "h41-variable-regex"], now=NOW))
    values = _values(sc, "traefik_service_open_connections", "service")
    assert apply_regex(values, "/([^-]+-[^-]+).*/"), values
    # the panels' own metric has the values the variable resolves to
    assert any(apply_regex([v], "/([^-]+-[^-]+).*/") for v in _values(sc, "traefik_service_requests_total", "service"))


def test_example_handles_negated_single_characters() -> None:
    assert example("([^-]+-[^-]+).*") is not None


def test_legend_labels_are_synthesized() -> None:
    """The elasticsearch mixin's panels name labels only in their legends (`{{name}} {{gc}}`,
    `{{name}} {{area}}`): every series had the same empty legend. The exporter has those labels."""
    sc = scenario_of(generate([CLASSES / "h41-legend-labels"], now=NOW))
    assert _values(sc, "elasticsearch_jvm_gc_collection_seconds_sum", "gc")
    assert _values(sc, "elasticsearch_jvm_gc_collection_seconds_sum", "name")
    assert _values(sc, "elasticsearch_jvm_memory_used_bytes", "area")
    assert _values(sc, "elasticsearch_thread_pool_rejected_count", "type")
    # one value each: a legend adds no series (a join on() over the metric stays one-to-one)
    assert len(_values(sc, "elasticsearch_jvm_memory_used_bytes", "area")) == 2  # its two instances
