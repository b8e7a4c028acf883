"""The shape of stackctl.yaml: pydantic models with the checks and examples its messages quote.

``config.load_config`` reads a file through these and layers the result with the environment
and flags; nothing else about configuration lives here.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RuntimeName = Literal["auto", "docker", "native"]
# Prometheus' duration grammar (model.ParseDuration): one or more <number><unit>, largest unit first.
_DURATION_RE = re.compile(r"(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def prometheus_duration(value: Any) -> str:
    """A Prometheus duration string; a bare number is seconds (``5`` -> ``"5s"``)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 15s or 1m, not true/false")
    if isinstance(value, (int, float)):
        if value <= 0:
            raise ValueError(f"{value} is not a positive duration (e.g. 15s)")
        return f"{int(value * 1000)}ms" if value != int(value) else f"{int(value)}s"
    text = str(value)
    if not text or text == "0" or not _DURATION_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration: write a number with a unit, e.g. 15s, 1m, 500ms")
    return text


class ScrapeTarget(BaseModel):
    """One scrape target; ``- localhost:8000`` is short for ``- target: localhost:8000``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    target: str = Field(examples=["localhost:8000"])
    job: str | None = Field(default=None, examples=["my-app"])
    path: str = Field(default="/metrics", examples=["/metrics"])
    interval: str = Field(default="5s", examples=["15s"])
    labels: dict[str, str] = Field(default_factory=dict, examples=[{"team": "search"}])

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"target": value} if isinstance(value, str) else value

    @field_validator("target")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if CONTROL_RE.search(value) or not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not host:port (e.g. localhost:8000)")
        return value

    @field_validator("interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> str:
        return prometheus_duration(value)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or CONTROL_RE.search(value) or " " in value:
            raise ValueError(f"{value!r} is not a URL path (e.g. /metrics)")
        return value

    @field_validator("job")
    @classmethod
    def _job(cls, value: str | None) -> str | None:
        if value is not None and (not value or CONTROL_RE.search(value)):
            raise ValueError(f"{value!r} is not a usable job name (e.g. my-app)")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for name, label_value in value.items():
            if not _LABEL_NAME_RE.fullmatch(name) or name.startswith("__"):
                raise ValueError(f"{name!r} is not a Prometheus label name (letters, digits and _, not starting with a digit or __)")
            if CONTROL_RE.search(str(label_value)):
                raise ValueError(f"the value of label {name!r} holds a control character")
        return value


class AlertmanagerSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    config: str | None = None  # a whole alertmanager.yml replacing the built-in one
    receivers: list[dict[str, Any]] = Field(default_factory=list)
    routes: list[dict[str, Any]] = Field(default_factory=list)


class PrometheusSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # the user's own prometheus.yml, merged into the stack's (docs/prometheus-config.md)
    config: str | None = Field(default=None, examples=["prometheus/prometheus.yml"])

    @field_validator("config")
    @classmethod
    def _no_control(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or CONTROL_RE.search(value)):
            raise ValueError(f"{value!r} is not a usable path (empty, or holds a control character)")
        return value


class GrafanaSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # the user's own provisioning folder (datasources/ and dashboards/), or one of its files
    # (docs/grafana-provisioning.md)
    provisioning: str | None = Field(default=None, examples=["grafana/provisioning"])

    @field_validator("provisioning")
    @classmethod
    def _no_control(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or CONTROL_RE.search(value)):
            raise ValueError(f"{value!r} is not a usable path (empty, or holds a control character)")
        return value


class FileModel(BaseModel):
    """The shape of stackctl.yaml; every key optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    project: str | None = Field(default=None, examples=["my-app"])
    runtime: RuntimeName | None = Field(default=None, examples=["native"])
    services: list[str] | None = Field(default=None, examples=[["prometheus", "grafana"]])
    bind: str | None = Field(default=None, examples=["127.0.0.1"])
    ports: dict[str, Any] | None = Field(default=None, examples=[{"prometheus": 19090}])
    images: dict[str, str] | None = Field(default=None, examples=[{"prometheus": "prom/prometheus:v3.5.0"}])
    state_dir: str | None = Field(default=None, examples=[".stackctl"])
    timeout: float | None = Field(default=None, gt=0, examples=[120])
    packs: list[str] | None = Field(default=None, examples=[["preview"]])
    scrape: list[ScrapeTarget] = Field(default_factory=list, examples=[["localhost:8000"]])
    dashboards: list[str] = Field(default_factory=list, examples=[["dashboards/"]])
    rules: list[str] = Field(default_factory=list, examples=[["rules/"]])
    alertmanager: AlertmanagerSection | None = None
    prometheus: PrometheusSection | None = None
    grafana: GrafanaSection | None = None
    grafana_anonymous: bool | None = Field(default=None, examples=[True])
    redis_password_env: str | None = Field(default=None, examples=["MY_REDIS_PASSWORD"])
    install: bool | None = Field(default=None, examples=[False])  # native runtime: get missing binaries
    release_mirror: str | None = Field(default=None, examples=["https://mirror.example.com/github"])

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        if isinstance(value, str) and value and not value.replace(".", "", 1).isdigit():
            return duration_seconds(prometheus_duration(value))
        return value

    @field_validator("state_dir", "project")
    @classmethod
    def _no_control(cls, value: str | None) -> str | None:
        if value is not None and CONTROL_RE.search(value):
            raise ValueError(f"{value!r} holds a control character (a newline, tab, ...)")
        return value

    @field_validator("dashboards", "rules")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for item in value:
            if CONTROL_RE.search(item):
                raise ValueError(f"{item!r} holds a control character (a newline, tab, ...)")
        return value

    @field_validator("redis_password_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment variable name (e.g. MY_REDIS_PASSWORD)")
        return value


def duration_seconds(text: str) -> float:
    units = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|[ywdhms])", text))
