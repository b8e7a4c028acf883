"""Fuzz the YAML loaders: any input gives a result or a clean StackctlError, never a crash."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackctl.config import FileModel, load_config
from stackctl.errors import StackctlError
from stackctl.seeding.catalog import load_scenario
from stackctl.yamlfile import parse_yaml, validate

pytestmark = pytest.mark.promise("S6")

KEYS = ["project", "runtime", "services", "bind", "ports", "images", "state_dir", "timeout", "packs", "scrape",
        "dashboards", "rules", "alertmanager", "grafana_anonymous", "redis_password_env", "prots", "name", "metrics",
        "logs", "redis", "phases", "expected_alerts", "type", "labels", "rate", "buckets", "description"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=20))
values = st.recursive(scalars, lambda children: st.one_of(st.lists(children, max_size=4),
                                                         st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=4)),
                      max_leaves=20)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=300))
def test_config_loader_on_arbitrary_text(text: str) -> None:
    try:
        validate(parse_yaml(text, "fuzz.yaml"), FileModel)
    except StackctlError:
        pass


@FUZZ
@given(documents)
def test_config_on_structured_documents(doc: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stackctl.yaml"
        path.write_text(yaml.safe_dump(doc))
        try:
            load_config(env={"HOME": tmp}, cwd=Path(tmp))
        except StackctlError as exc:
            assert exc.message  # a clean message, not an empty one


@FUZZ
@given(st.one_of(st.text(max_size=300), documents.map(lambda d: yaml.safe_dump(d))))
def test_scenario_loader(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_text(text)
        try:
            load_scenario(str(path))
        except StackctlError as exc:
            assert exc.message
