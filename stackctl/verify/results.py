"""The record every verify check yields: what was checked, its status and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["populated", "empty", "error", "skipped", "ok"]
FAILING = ("empty", "error")


@dataclass(frozen=True)
class CheckResult:
    kind: str  # panel | annotation | dashboard | rules | metric | alert
    dashboard: str  # the dashboard title; for other kinds, what was checked (rule group, ...)
    panel: str  # panel title; rule, metric or alert name
    query: str
    status: Status
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
