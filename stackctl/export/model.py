"""What an export is made of: the options, the rule sets, and the whole export before it is written.

Its own module so that kubernetes.py (which builds an export) and readme.py (which describes one)
both import it and never each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stackctl.errors import UsageError
from stackctl.export import chart
from stackctl.export.dashboards import ExportedDashboard
from stackctl.export.secrets import SecretPlan

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class ExportOptions:
    release: str
    namespace: str = "monitoring"
    loki_url: str | None = None

    def __post_init__(self) -> None:
        for what, value, limit in (("release", self.release, 53), ("namespace", self.namespace, 63)):
            if not _DNS_LABEL.fullmatch(value) or len(value) > limit:
                raise UsageError(f"--{what} {value!r} is not a valid Helm {what} name",
                                 hint=f"lowercase letters, digits and '-', starting and ending with a letter or digit, at most {limit} characters")

    @property
    def secret_name(self) -> str:
        return f"{self.release}-alertmanager-receivers"


@dataclass(frozen=True)
class RuleSet:
    key: str  # the additionalPrometheusRulesMap key (and the PrometheusRule's name stem)
    source: str  # the rendered rule file it comes from
    groups: list[dict[str, Any]]


@dataclass
class KubernetesExport:
    options: ExportOptions
    rules: list[RuleSet]
    dashboards: list[tuple[str, ExportedDashboard]]  # (ConfigMap name, dashboard)
    alertmanager: dict[str, Any]  # the config as Alertmanager will load it (after Helm's merge)
    scrape: list[dict[str, Any]]
    secret: SecretPlan
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # things the user has to act on

    @property
    def available_uids(self) -> set[str]:
        uids = set(chart.CHART_DATASOURCE_UIDS.values()) | set(chart.CHART_DATASOURCE_NAMES)
        return uids | {chart.LOKI_UID, "Loki"} if self.options.loki_url else uids
