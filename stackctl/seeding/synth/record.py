"""Where a synthesized scenario is kept, so `seed --detach`, `verify` and `seed status` find it.

``seed --from`` writes ``<state_dir>/synth/<name>.yaml`` (the scenario, loadable by path like
any other) and ``<name>.json`` next to it (what was synthesized: metrics, series, files,
alert outcomes) that ``seed status`` shows.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from stackctl.seeding.synth.pipeline import Generated


def write(generated: Generated, state_dir: Path | None) -> Path:
    """Write the scenario (and its summary); returns the scenario file's path."""
    folder = state_dir / "synth" if state_dir is not None else Path(tempfile.mkdtemp(prefix="stackctl-synth-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{generated.plan.name}.yaml"
    path.write_text(generated.text)
    path.with_suffix(".json").write_text(json.dumps(generated.summary, indent=2))
    return path.resolve()


def scenario_path(state_dir: Path, name: str | None) -> Path | None:
    """The file of a scenario ``seed --from`` synthesized under this name, if there is one."""
    if not name or "/" in name:
        return None
    path = state_dir / "synth" / f"{name}.yaml"
    return path if path.is_file() else None


def summary_for(state_dir: Path, name: str | None) -> dict[str, Any] | None:
    """What was synthesized for the recorded scenario ``name``, or None."""
    path = scenario_path(state_dir, name)
    if path is None:
        return None
    try:
        data = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
