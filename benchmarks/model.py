"""What one run of a benchmark returns, and how it declines to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Measurement:
    """Figures measured in one run, and facts worth keeping in ``meta`` (sizes, versions)."""

    values: dict[str, float]
    notes: dict[str, Any] = field(default_factory=dict)


class Skip(Exception):
    """This machine cannot measure the benchmark (no engine, image not cached); the reason
    goes into the figure instead of a number."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
