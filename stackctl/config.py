"""Configuration, layered: built-in defaults < stackctl.yaml < environment < flags.

``load_config()`` is the only place that reads the environment or the config file; the
result is a frozen ``Config`` every other module takes as data.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from stackctl.assets import asset_path
from stackctl.configfile import (  # noqa: F401  (the file's models, re-exported for callers)
    CONTROL_RE,
    AlertmanagerSection,
    FileModel,
    RuntimeName,
    ScrapeTarget,
    duration_seconds,
    prometheus_duration,
)
from stackctl.errors import ConfigError
from stackctl.promfile import read_user_prometheus
from stackctl.services import SERVICES, USER_SERVICES, parse_services, with_internal
from stackctl.yamlfile import LocatedYaml, read_yaml, suggest, validate

CONFIG_FILENAME = "stackctl.yaml"
# The seeds' external receivers: active only when their secret comes from the environment.
SECRET_ENV = {"slack": "SLACK_WEBHOOK_URL", "pagerduty": "PAGERDUTY_ROUTING_KEY"}
_PROJECT_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
PROJECT_MAX = 63  # compose project names end up in container, network and volume names
# docker's reference grammar, simplified: [registry[:port]/]path[:tag][@digest]
_IMAGE_RE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$")


@dataclass(frozen=True)
class Config:
    project: str
    runtime: str
    services: tuple[str, ...]
    bind: str
    ports: Mapping[str, int]
    images: Mapping[str, str]
    state_dir: Path
    timeout: float
    packs: tuple[str, ...] | None  # None: every built-in pack
    scrape: tuple[ScrapeTarget, ...] = ()
    dashboards: tuple[Path, ...] = ()
    rules: tuple[Path, ...] = ()
    alertmanager: AlertmanagerSection | None = None
    prometheus_config: Path | None = None  # the user's own prometheus.yml (its rule files are in ``rules``)
    grafana_provisioning: Path | None = None  # the user's provisioning folder (or one file of it)
    grafana_anonymous: bool = False
    install: bool = True
    release_mirror: str | None = None
    redis_password: str | None = field(default=None, repr=False)
    external_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # receiver -> secret
    config_file: Path | None = None
    sources: Mapping[str, str] = field(default_factory=dict)  # key -> where its value came from

    def port(self, service: str) -> int:
        return int(self.ports[service])

    def url(self, service: str) -> str:
        return SERVICES[service].url(self.bind, self.port(service))

    def with_(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def public_dict(self) -> dict[str, Any]:
        """What `stackctl config` shows: never a secret."""
        return {
            "project": self.project,
            "runtime": self.runtime,
            "services": list(self.services),
            "bind": self.bind,
            "ports": {s: self.ports[s] for s in with_internal(self.services)},
            "images": {s: self.images[s] for s in with_internal(self.services)},
            "state_dir": str(self.state_dir),
            "timeout": self.timeout,
            "packs": list(self.packs) if self.packs is not None else "all",
            "config_file": str(self.config_file) if self.config_file else None,
            "prometheus_config": str(self.prometheus_config) if self.prometheus_config else None,
            "grafana_provisioning": str(self.grafana_provisioning) if self.grafana_provisioning else None,
            "install": self.install,
            "release_mirror": self.release_mirror,
            "redis_password": "set" if self.redis_password else "not set",
            "external_receivers": {name: f"active ({SECRET_ENV[name]} is set)" if name in self.external_secrets
                                   else f"off (set {SECRET_ENV[name]})" for name in SECRET_ENV},
            "sources": dict(self.sources),
        }


@lru_cache(maxsize=1)
def _pinned_images() -> tuple[tuple[str, str], ...]:
    text = asset_path("compose", "docker-compose.yml").read_text(encoding="utf-8")
    found = dict(re.findall(r"\$\{STACKCTL_IMAGE_([A-Z_]+):-([^}]+)\}", text))
    return tuple((name, found[name.upper().replace("-", "_")]) for name in SERVICES)


def default_images() -> dict[str, str]:
    """Pinned official images, read from the compose definition's ``${STACKCTL_IMAGE_X:-default}``.

    A fresh dict each call: callers layer overrides onto it.
    """
    return dict(_pinned_images())


def default_state_dir(project: str, env: Mapping[str, str]) -> Path:
    home = env.get("HOME") or str(Path.home())
    base = env.get("XDG_STATE_HOME") or str(Path(home) / ".local" / "state")
    return Path(base) / "stackctl" / project




def _check_project(name: str, source: str) -> str:
    if len(name) > PROJECT_MAX:
        raise ConfigError(f"{source}: project name is {len(name)} characters long, the limit is {PROJECT_MAX}",
                          hint="use a shorter name (it becomes the compose project and container names)")
    if not _PROJECT_RE.fullmatch(name):
        raise ConfigError(
            f"{source}: project name {name!r} is not valid",
            hint="use lowercase letters, digits, '-' and '_', starting with a letter or digit (it becomes the compose project name)",
        )
    return name


def _check_path(value: str, what: str, source: str) -> str:
    """Paths end up in rendered config files: no control characters, ever (config injection)."""
    if CONTROL_RE.search(value):
        raise ConfigError(f"{source}: {what} {value!r} holds a control character (a newline, tab, ...)",
                          hint="write the path on one line, without control characters")
    return value


def _check_bind(value: str, source: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ConfigError(f"{source}: bind address {value!r} is not an IP address", hint="use 127.0.0.1 (default) or 0.0.0.0 to listen on every interface") from None
    return value


PORT_MIN, PORT_MAX = 1024, 65535  # below 1024 needs root, and the stack never runs as root


def _check_port(service: str, value: Any, source: str) -> int:
    example = f"e.g. {service}: {SERVICES[service].default_port}" if service in SERVICES else "e.g. 19090"
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ConfigError(f"{source}: port for {service} must be a whole number, got {value!r}", hint=example)
    try:
        port = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: port for {service} must be a number, got {value!r}", hint=example) from None
    if not PORT_MIN <= port <= PORT_MAX:
        raise ConfigError(f"{source}: port {port} for {service} is out of range", hint=f"use a port between {PORT_MIN} and {PORT_MAX}")
    return port


def _check_image(service: str, value: str, source: str) -> str:
    if not _IMAGE_RE.fullmatch(value):
        raise ConfigError(
            f"{source}: {value!r} is not a valid image reference for {service}",
            hint="images look like prom/prometheus:v3.5.0 or registry.local:5000/prometheus:v3",
        )
    return value


def _known_service(name: str, source: str) -> str:
    key = name.lower().replace("_", "-")
    if key not in SERVICES:
        raise ConfigError(f"{source}: unknown service {name!r}{suggest(key, USER_SERVICES)}", hint=f"services are: {', '.join(USER_SERVICES)}")
    return key


def find_config_file(explicit: str | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    """--config wins, then STACKCTL_CONFIG, then ./stackctl.yaml if present."""
    chosen = explicit or env.get("STACKCTL_CONFIG")
    if chosen:
        path = Path(chosen).expanduser()
        path = path if path.is_absolute() else cwd / path
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist", hint="check --config / STACKCTL_CONFIG, or run `stackctl init` to write one")
        return path
    default = cwd / CONFIG_FILENAME
    return default if default.is_file() else None


def _read_file(path: Path) -> FileModel:
    doc: LocatedYaml = read_yaml(path, ConfigError)
    return validate(doc, FileModel, ConfigError, hint=f"see the configuration table in stackctl's README; fix {path.name} and retry")


def _env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    simple = {"STACKCTL_PROJECT": "project", "STACKCTL_RUNTIME": "runtime", "STACKCTL_BIND": "bind",
              "STACKCTL_STATE_DIR": "state_dir", "STACKCTL_TIMEOUT": "timeout", "STACKCTL_SERVICES": "services",
              "STACKCTL_PACKS": "packs", "STACKCTL_RELEASE_MIRROR": "release_mirror"}
    for var, key in simple.items():
        if env.get(var, "") != "":
            layer[key] = (env[var], f"env {var}")
    if env.get("STACKCTL_NO_INSTALL", "").strip().lower() not in ("", "0", "false", "no", "off"):
        layer["install"] = (False, "env STACKCTL_NO_INSTALL")
    for prefix, key in (("STACKCTL_PORT_", "ports"), ("STACKCTL_IMAGE_", "images")):
        for var, value in env.items():
            if var.startswith(prefix) and value != "":
                service = _known_service(var[len(prefix):], f"env {var}")
                layer.setdefault(key, {})[service] = (value, f"env {var}")
    return layer


def _file_layer(model: FileModel, path: Path) -> dict[str, Any]:
    src = f"{path.name}"
    layer: dict[str, Any] = {}
    for key in ("project", "runtime", "services", "bind", "state_dir", "timeout", "packs", "install", "release_mirror"):
        value = getattr(model, key)
        if value is not None:
            layer[key] = (value, src)
    for key in ("ports", "images"):
        for service, value in (getattr(model, key) or {}).items():
            layer.setdefault(key, {})[_known_service(service, f"{path}: {key}")] = (value, src)
    return layer


def _merge(layers: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key in ("ports", "images"):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
    return merged


def _resolve_paths(items: list[str], base: Path, what: str, source: Path) -> tuple[Path, ...]:
    out = []
    for item in items:
        path = Path(item).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.exists():
            raise ConfigError(f"{source}: {what} path {item!r} does not exist (resolved to {path})", hint="paths in stackctl.yaml are relative to the file")
        out.append(path.resolve())
    return tuple(out)


def _list_value(value: Any) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else [str(v) for v in value]


def load_config(
    config_path: str | None = None,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Build the effective configuration. ``flags`` holds command-line values (None = not given)."""
    env = dict(os.environ if env is None else env)
    cwd = cwd or Path.cwd()
    path = find_config_file(config_path, env, cwd)
    model = _read_file(path) if path else FileModel()
    flag_layer: dict[str, Any] = {k: (v, f"flag --{k.replace('_', '-')}") for k, v in (flags or {}).items() if v is not None}
    for key in ("ports", "images"):
        if key in flag_layer:
            flag_layer[key] = {s: (v, f"flag --{key}") for s, v in flag_layer[key][0].items()}
    if "install" in flag_layer:
        flag_layer["install"] = (flag_layer["install"][0], "flag --no-install")
    merged = _merge([_file_layer(model, path) if path else {}, _env_layer(env), flag_layer])
    return _build(merged, model, path, env)


def _pick(merged: dict[str, Any], key: str, default: Any, sources: dict[str, str]) -> Any:
    if key in merged:
        value, src = merged[key]
        sources[key] = src
        return value
    sources[key] = "default"
    return default


def _build(merged: dict[str, Any], model: FileModel, path: Path | None, env: Mapping[str, str]) -> Config:
    sources: dict[str, str] = {}
    project = _check_project(str(_pick(merged, "project", "stackctl", sources)), sources["project"])
    runtime = str(_pick(merged, "runtime", "auto", sources))
    if runtime not in ("auto", "docker", "native"):
        raise ConfigError(f"{sources['runtime']}: runtime {runtime!r} is not one of auto, docker, native{suggest(runtime, ['auto', 'docker', 'native'])}")
    services = parse_services(_list_value(_pick(merged, "services", list(USER_SERVICES), sources)), sources["services"])
    bind = _check_bind(str(_pick(merged, "bind", "127.0.0.1", sources)), sources["bind"])
    ports = {name: spec.default_port for name, spec in SERVICES.items()}
    for service, (value, src) in merged.get("ports", {}).items():
        ports[service] = _check_port(service, value, src)
        sources[f"ports.{service}"] = src
    _check_duplicate_ports(ports, services)
    images = default_images()
    for service, (value, src) in merged.get("images", {}).items():
        images[service] = _check_image(service, str(value), src)
        sources[f"images.{service}"] = src
    state_raw = _pick(merged, "state_dir", None, sources)
    if state_raw:
        _check_path(str(state_raw), "state_dir", sources["state_dir"])
    state_dir = Path(str(state_raw)).expanduser() if state_raw else default_state_dir(project, env)
    timeout_raw = _pick(merged, "timeout", 120.0, sources)
    try:
        timeout = duration_seconds(prometheus_duration(timeout_raw)) if isinstance(timeout_raw, str) and not timeout_raw.replace(".", "", 1).isdigit() else float(timeout_raw)
        assert timeout > 0
    except (TypeError, ValueError, AssertionError):
        raise ConfigError(f"{sources['timeout']}: timeout must be a positive number of seconds, got {timeout_raw!r}") from None
    packs_raw = _pick(merged, "packs", None, sources)
    packs = tuple(_list_value(packs_raw)) if packs_raw is not None else None
    _check_packs(packs, sources["packs"])
    install = _pick(merged, "install", True, sources)
    if not isinstance(install, bool):
        raise ConfigError(f"{sources['install']}: install must be true or false, got {install!r}")
    mirror = _pick(merged, "release_mirror", None, sources)
    base = path.parent if path else Path.cwd()
    password_env = model.redis_password_env or "STACKCTL_REDIS_PASSWORD"
    rules = _resolve_paths(model.rules, base, "rules", path) if path else ()
    prometheus_config = _prometheus_config(model, path)
    if prometheus_config:  # its rule_files load like `rules:` (checked, synthesized, fired)
        rules += tuple(p for p in _prometheus_rule_files(prometheus_config) if p not in rules)
    return Config(
        project=project, runtime=runtime, services=services, bind=bind, ports=ports, images=images,
        state_dir=state_dir.resolve() if state_dir.is_absolute() else (Path.cwd() / state_dir).resolve(),
        timeout=timeout, packs=packs, scrape=tuple(model.scrape),
        dashboards=_resolve_paths(model.dashboards, base, "dashboards", path) if path else (),
        rules=rules, prometheus_config=prometheus_config, grafana_provisioning=_grafana_provisioning(model, path),
        alertmanager=model.alertmanager, grafana_anonymous=bool(model.grafana_anonymous),
        install=install, release_mirror=str(mirror) if mirror else None,
        redis_password=env.get(password_env) or None, config_file=path, sources=sources,
        external_secrets={name: env[var] for name, var in SECRET_ENV.items() if env.get(var)},
    )


def _user_path(value: str, path: Path, key: tuple[str, str], what: str, hint: str, *, file_only: bool) -> Path:
    """A path stackctl.yaml names at ``key``, relative to the file; an error at its line when it
    does not exist (or, with ``file_only``, is a folder)."""
    target = Path(value).expanduser()
    target = target if target.is_absolute() else path.parent / target
    if not target.exists() or (file_only and target.is_dir()):
        line = read_yaml(path, ConfigError).line_of(key)
        why = "is a folder" if target.is_dir() else "does not exist"
        raise ConfigError(f"{path}:{line}: {what} {value!r} {why} (resolved to {target})", hint=hint)
    return target.resolve()


def _prometheus_config(model: FileModel, path: Path | None) -> Path | None:
    """``prometheus.config``, relative to stackctl.yaml; it must be a file."""
    if path is None or model.prometheus is None or not model.prometheus.config:
        return None
    return _user_path(model.prometheus.config, path, ("prometheus", "config"), "prometheus.config",
                      "name your prometheus.yml; the path is relative to stackctl.yaml", file_only=True)


def _grafana_provisioning(model: FileModel, path: Path | None) -> Path | None:
    """``grafana.provisioning``, relative to stackctl.yaml: a folder, or one provisioning file."""
    if path is None or model.grafana is None or not model.grafana.provisioning:
        return None
    return _user_path(model.grafana.provisioning, path, ("grafana", "provisioning"), "grafana.provisioning",
                      "name your Grafana provisioning folder (the one holding datasources/ and dashboards/), "
                      "or one of its .yml files; the path is relative to stackctl.yaml", file_only=False)


def _prometheus_rule_files(path: Path) -> tuple[Path, ...]:
    """The rule files of the user's prometheus.yml; none while it is broken: `down`, `status` and
    `logs` must still work, and render (every `up`) reads it again and raises the error there."""
    try:
        return read_user_prometheus(path).rule_files
    except ConfigError:
        return ()


def _check_packs(packs: tuple[str, ...] | None, source: str) -> None:
    from stackctl.packs import pack_names

    known = list(pack_names())
    for name in packs or ():
        if name not in known:
            raise ConfigError(f"{source}: unknown pack {name!r}{suggest(name, known)}", hint=f"packs are: {', '.join(known)} (`stackctl packs`)")


def _check_duplicate_ports(ports: Mapping[str, int], services: tuple[str, ...]) -> None:
    from stackctl.services import with_internal

    seen: dict[int, str] = {}
    for service in with_internal(services):
        port = ports[service]
        if port in seen:
            raise ConfigError(
                f"{seen[port]} and {service} are both configured on port {port}",
                hint=f"give one of them another port, e.g. STACKCTL_PORT_{service.upper().replace('-', '_')}={port + 1000}",
            )
        seen[port] = service
