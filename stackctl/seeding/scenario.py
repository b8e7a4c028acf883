"""Scenario files: what traffic to synthesise, in which phases, and which alerts it should raise.

Pydantic checks the shape (types, unknown keys with "did you mean"); ``semantic_problems``
checks what spans fields (a histogram without buckets, a phase nobody defined, phases longer
than the history) and returns field paths, so every message can still name file and line.

Phases are laid out backwards from "now": the last phase ends at the seeding instant and
continues live, so the end of the history is already in the state the scenario is about.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from stackctl.errors import ScenarioError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
METRIC_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _label_names(value: Any) -> Any:
    """Prometheus and Loki label names: letters, digits and _; __ is reserved for internal labels."""
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, str) or not _LABEL_NAME.fullmatch(name) or name.startswith("__"):
                raise ValueError(f"{name!r} is not a label name (letters, digits and _, not starting with a digit or __; e.g. status_code)")
    return value


LabelMap = Annotated[dict[str, str], BeforeValidator(_label_names)]
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
LEVELS = ("debug", "info", "warn", "error")
# Fields a log template or stream entry may use without declaring them (see loggen.py).
BUILTIN_FIELDS = ("request_id", "trace_id", "job_id", "pet_id", "brand_id", "user_id",
                  "duration_ms", "attempt", "embedding_id", "image_id")


def parse_duration(value: Any) -> float:
    """``"30m"``, ``"1h30m"``, ``"90s"``, ``"500ms"`` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 30m, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", text):  # a bare number is seconds ("--duration 0")
        return float(text)
    if not text or _DURATION.sub("", text):
        raise ValueError(f"invalid duration {value!r}: use e.g. 90s, 30m, 2h or 1h30m")
    return sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))


def format_duration(seconds: float) -> str:
    """Inverse of ``parse_duration`` for messages: 5400 -> ``1h30m``."""
    seconds = int(round(seconds))
    parts = [(seconds // 3600, "h"), (seconds % 3600 // 60, "m"), (seconds % 60, "s")]
    return "".join(f"{n}{u}" for n, u in parts if n) or "0s"


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _number_is_constant(value: Any) -> Any:
    # `distribution: 12` reads naturally for a flat gauge.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"kind": "constant", "value": value}
    return value


class Distribution(_Model):
    kind: Literal["constant", "normal", "uniform", "lognormal"] = "normal"
    value: float | None = None
    mean: float | None = None
    stddev: float | None = None
    low: float | None = None
    high: float | None = None
    median: float | None = None
    p95: float | None = None
    min: float | None = None
    max: float | None = None
    integer: bool = False
    # A trend (gauges): units per second, the level stated being the one at the seeding instant
    # (``value(t) = draw + slope * (t - now)``), clamped to [min, max]. For predict_linear() alerts.
    slope: float | None = None


Dist = Annotated[Distribution, BeforeValidator(_number_is_constant)]


class Phase(_Model):
    name: str = Field(min_length=1)
    duration: Duration = Field(gt=0)
    description: str = ""


class SeriesPhase(_Model):
    weight: float | None = None
    distribution: Dist | None = None


class SeriesSpec(_Model):
    labels: LabelMap = Field(default_factory=dict)
    weight: float = 1.0
    distribution: Dist | None = None
    phases: dict[str, SeriesPhase] = Field(default_factory=dict)


class MetricPhase(_Model):
    rate: float | None = Field(default=None, ge=0)
    distribution: Dist | None = None


class Metric(_Model):
    name: str = Field(pattern=METRIC_NAME)
    type: Literal["counter", "gauge", "histogram"]
    help: str = ""
    labels: LabelMap = Field(default_factory=dict)  # on every series, e.g. job
    rate: float | None = Field(default=None, ge=0)
    distribution: Dist | None = None
    buckets: list[float] | None = None
    series: list[SeriesSpec] = Field(default_factory=lambda: [SeriesSpec()], min_length=1)
    phases: dict[str, MetricPhase] = Field(default_factory=dict)


def metric_key(m: Metric) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Two packs may share a metric name (http_requests_total) under different job labels."""
    return m.name, tuple(sorted(m.labels.items()))


def series_labels(m: Metric, s: SeriesSpec) -> dict[str, str]:
    return {**m.labels, **s.labels}


class LogMessage(_Model):
    level: Literal["debug", "info", "warn", "error"] = "info"
    template: str = Field(min_length=1)
    weight: float = 1.0


class LogPhase(_Model):
    rate: float | None = Field(default=None, ge=0)
    levels: dict[str, float] | None = None


class LogStream(_Model):
    labels: Annotated[LabelMap, Field(min_length=1)]
    rate: float = Field(gt=0)
    levels: dict[str, float] = Field(default_factory=lambda: {"info": 1.0})
    messages: list[LogMessage] = Field(min_length=1)
    format: Literal["json", "logfmt"] = "json"
    fields: dict[str, list[str]] = Field(default_factory=dict)
    phases: dict[str, LogPhase] = Field(default_factory=dict)
    # how a level is spelled in the ``level`` label and the line ({error: ERROR, warn: WARNING}):
    # the app's loggers decide, and LogQL matches case-sensitively
    level_names: dict[Literal["debug", "info", "warn", "error"], str] = Field(default_factory=dict)


class RedisPhase(_Model):
    rate: float | None = Field(default=None, ge=0)
    ack_share: float | None = Field(default=None, ge=0, le=1)


class RedisStream(_Model):
    key: str = Field(min_length=1)
    group: str = Field(min_length=1)
    consumer: str = "worker-1"
    rate: float = Field(gt=0)
    ack_share: float = Field(default=1.0, ge=0, le=1)
    fields: dict[str, str] = Field(default_factory=lambda: {"job_id": "{job_id}"})
    pending_metric: str | None = Field(default=None, pattern=METRIC_NAME)
    lag_metric: str | None = Field(default=None, pattern=METRIC_NAME)
    metric_labels: LabelMap = Field(default_factory=dict)
    phases: dict[str, RedisPhase] = Field(default_factory=dict)


class ExpectedAlert(_Model):
    name: str = Field(min_length=1)
    state: Literal["pending", "firing"] = "pending"
    within: Duration = Field(default=60.0, gt=0)
    # Static labels telling apart rules of one name (a warning/critical pair); an alert matches
    # when it carries them all.
    labels: dict[str, str] = Field(default_factory=dict)


class Scenario(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = Field(min_length=1)
    packs: list[str] = Field(default_factory=list)  # required unless the scenario is synthesized
    # The dashboards and rule files a synthesized scenario was generated from (scenarios generate).
    sources: list[str] = Field(default_factory=list)
    base: list[str] = Field(default_factory=list)
    history: Duration = Field(default=1800.0, gt=0)
    step: Duration = Field(default=15.0, ge=1)
    phases: list[Phase] = Field(default_factory=list)
    metrics: list[Metric] = Field(default_factory=list)
    logs: list[LogStream] = Field(default_factory=list)
    redis: list[RedisStream] = Field(default_factory=list)
    expected_alerts: list[ExpectedAlert] = Field(default_factory=list)

    @property
    def summary(self) -> str:
        return self.description.strip().splitlines()[0] if self.description.strip() else ""


def template_fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


MAX_PROBLEMS = 40  # every problem at once, up to a screenful


def raise_problems(problems: list[tuple[tuple[Any, ...], str]], source: str, line_of: Any) -> None:
    """Turn (path, message) pairs into one ScenarioError naming file:line: field."""
    if not problems:
        return
    out = []
    for path, msg in problems[:MAX_PROBLEMS]:
        line = line_of(path)
        where = f"{source}:{line}" if line else source
        out.append(f"{where}: {'.'.join(map(str, path)) or '(top level)'}: {msg}")
    if len(problems) > MAX_PROBLEMS:
        out.append(f"... and {len(problems) - MAX_PROBLEMS} more problem(s)")
    raise ScenarioError("\n".join(out), hint="see fixtures/scenarios/*.yaml for working examples")
