"""Start the detached seeder for a stack stackctl runs (used by `up --seed`)."""

from __future__ import annotations

from typing import Any

from stackctl.seeding import daemon
from stackctl.seeding.targets import resolve_targets


def start_background_seeder(cfg: Any, scenario: str, history_s: float = 1800.0, duration: float | None = None,
                            random_seed: int | None = None) -> int:
    """Seed ``scenario`` into the stack of ``cfg`` in the background; returns the seeder's pid."""
    targets = resolve_targets(cfg)
    return daemon.start(cfg.state_dir, {"scenario": scenario, "targets": targets.__dict__, "history": history_s,
                                        "duration": duration, "random_seed": random_seed})
