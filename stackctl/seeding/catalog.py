"""The scenario catalog: ``fixtures/scenarios/NAME.yaml``, plus any file given by path.

A scenario may name ``base:`` scenarios (usually a pack's healthy one) and only state what
differs: its metrics, log streams and Redis streams replace the base's ones of the same name,
so every panel of the pack stays fed with healthy values for what is not under test.
"""

from __future__ import annotations

from pathlib import Path

from stackctl.errors import ScenarioError
from stackctl.seeding.checks import semantic_problems
from stackctl.seeding.scenario import Scenario, format_duration, metric_key, raise_problems
from stackctl.yamlfile import read_yaml, suggest, validate


def scenarios_dir() -> Path:
    from stackctl.assets import asset_path

    return asset_path("fixtures", "scenarios")


def list_scenarios(directory: Path | None = None) -> list[str]:
    """Names of the catalog's scenarios, sorted."""
    root = directory or scenarios_dir()
    return sorted(p.stem for p in root.glob("*.yaml") if not p.name.startswith("_"))


def _resolve(name: str, directory: Path, referrer: Path | None = None) -> Path:
    """A path, or a catalog name; a ``base:`` of a file resolves against that file's folder."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        path = Path(name).expanduser()
        return path if path.is_absolute() or referrer is None else referrer / path
    if referrer is not None and (referrer / f"{name}.yaml").is_file():
        return referrer / f"{name}.yaml"
    path = directory / f"{name}.yaml"
    if not path.is_file():
        known = list_scenarios(directory)
        raise ScenarioError(
            f"unknown scenario {name!r}{suggest(name, known)}",
            hint=f"list them with `stackctl scenarios` (known: {', '.join(known) or 'none'})",
        )
    return path


def load_scenario(name: str, directory: Path | None = None) -> Scenario:
    """Load, validate and merge (``base:``) one scenario by catalog name or file path."""
    return _load(name, directory or scenarios_dir(), ())


def _load(name: str, directory: Path, chain: tuple[str, ...], referrer: Path | None = None) -> Scenario:
    if name in chain:
        raise ScenarioError(f"scenario base cycle: {' -> '.join(chain + (name,))}")
    path = _resolve(name, directory, referrer)
    doc = read_yaml(path, error=ScenarioError)
    own = validate(doc, Scenario, error=ScenarioError)
    if path.suffix in (".yaml", ".yml") and path.parent == directory and own.name != path.stem:
        raise ScenarioError(f"{path}:{doc.line_of(('name',)) or 1}: name: {own.name!r} differs from the file name",
                            hint=f"set name: {path.stem}")
    bases = [_load(b, directory, chain + (name,), path.parent) for b in own.base]
    inherited = frozenset(p.name for b in bases for p in b.phases)
    if own.phases and inherited:
        raise_problems([(("phases",), "a scenario whose base defines phases cannot add its own")],
                       str(path), doc.line_of)
    raise_problems(semantic_problems(own, inherited), str(path), doc.line_of)
    merged = _merge(own, bases)
    span = sum(p.duration for p in merged.phases)
    if span > merged.history:
        raise ScenarioError(f"{path}: phases span {format_duration(span)} but history is {format_duration(merged.history)}")
    return merged


def _merge(own: Scenario, bases: list[Scenario]) -> Scenario:
    if not bases:
        return own
    metrics = {metric_key(m): m for b in bases for m in b.metrics} | {metric_key(m): m for m in own.metrics}
    logs = {_log_key(s): s for b in bases for s in b.logs} | {_log_key(s): s for s in own.logs}
    redis = {r.key: r for b in bases for r in b.redis} | {r.key: r for r in own.redis}
    packs = list(dict.fromkeys([p for b in bases for p in b.packs] + own.packs))
    update = {
        "metrics": list(metrics.values()),
        "logs": list(logs.values()),
        "redis": list(redis.values()),
        "packs": packs,
        "phases": own.phases or [p for b in bases for p in b.phases],
        "expected_alerts": own.expected_alerts if "expected_alerts" in own.model_fields_set
        else [a for b in bases for a in b.expected_alerts],
        "history": own.history if "history" in own.model_fields_set else max([own.history] + [b.history for b in bases]),
        "base": [],
    }
    return own.model_copy(update=update)


def _log_key(stream: object) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(getattr(stream, "labels").items()))


def scenario_summary(sc: Scenario) -> dict[str, object]:
    """One row of ``stackctl scenarios`` (also its ``--json`` form)."""
    return {
        "name": sc.name,
        "packs": list(sc.packs),
        "description": sc.summary,
        "expected_alerts": [f"{a.name} ({a.state} within {format_duration(a.within)})" for a in sc.expected_alerts],
    }


def scenario_details(sc: Scenario) -> dict[str, object]:
    """What ``stackctl scenarios show NAME`` explains: phases, metrics, logs, streams, alerts."""
    return {
        **scenario_summary(sc),
        "description": sc.description.strip(),
        "history": format_duration(sc.history),
        "step": format_duration(sc.step),
        "phases": [f"{p.name}: {format_duration(p.duration)}" + (f" ({p.description})" if p.description else "")
                   for p in sc.phases],
        "metrics": [f"{m.name} ({m.type}, {len(m.series)} series)" for m in sc.metrics],
        "logs": ["{" + ", ".join(f'{k}="{v}"' for k, v in s.labels.items()) + f"}} ~{s.rate:g} lines/s" for s in sc.logs],
        "redis": [f"{r.key} group {r.group}: XADD {r.rate:g}/s, acks {r.ack_share:.0%}" for r in sc.redis],
    }
