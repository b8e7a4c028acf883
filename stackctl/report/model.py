"""What a report holds, between querying (``build``) and drawing (``page``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stackctl.report.collect import PanelData
from stackctl.report.source import DashboardView
from stackctl.verify.checks import CheckResult


@dataclass(frozen=True)
class Alerts:
    """Prometheus' alerting rules as the report shows them."""

    active: list[dict[str, Any]]  # /api/v1/alerts: pending and firing instances
    inactive: list[str]  # alerting rules of the checked groups with nothing pending or firing
    expected: list[CheckResult]  # the scenario's expected alerts, verify's verdict (no waiting)
    rules: list[CheckResult]  # rule-group health, and dashboard files that could not be read


@dataclass
class Report:
    generated: float
    prometheus_url: str
    loki: str
    scenario: str | None
    packs: tuple[str, ...] | None
    alerts: Alerts
    dashboards: list[tuple[DashboardView, list[PanelData]]] = field(default_factory=list)

    @property
    def panels(self) -> list[PanelData]:
        return [p for _, panels in self.dashboards for p in panels]

    @property
    def verdicts(self) -> list[CheckResult]:
        return [p.verdict for p in self.panels]
