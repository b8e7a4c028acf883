"""The native runtime: the same stack as local processes, from the same definition.

Each service's command, environment and mounts come from compose/docker-compose.yml; container
paths become state-dir paths (rendered configs, data dirs) and every process listens on the
configured bind address and host port. Processes run detached in their own session; pid
records, logs and data live under the project's state dir.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

from stackctl.config import Config
from stackctl.errors import BinaryNotFoundError, StackctlError, StateError, disk_hint
from stackctl.install import store
from stackctl.install.cache import default_cache_dir
from stackctl.proc import deferred_interrupts, last_lines, spawn_detached
from stackctl.render.definition import container_path_map, data_dir, load_definition
from stackctl.runtime import pids
from stackctl.runtime.base import RawState
from stackctl.runtime.redis_auth import redact, requirepass_line
from stackctl.services import SERVICES
from stackctl.state.dirs import ensure_dir, owns, secret, write_atomic

log = logging.getLogger("stackctl.native")




def find_binary(service: str) -> Path | None:
    """PATH first (the user's own install wins), then stackctl's verified binary cache."""
    found = _find(service)
    return found[0] if found else None


def _find(service: str) -> tuple[Path, dict[str, str], Path | None] | None:
    """The executable, the extra environment it needs (the cache's unpacked libraries) and
    the working directory it must start in (None: any)."""
    for name in SERVICES[service].binaries:
        on_path = shutil.which(name)
        if on_path:
            return Path(on_path), {}, None
    cached = store.usable(service, default_cache_dir())
    if cached is None or cached.binary is None:
        return None
    return cached.binary, cached.env(), cached.cwd


def missing_binary_error(service: str, cfg: Config | None = None) -> BinaryNotFoundError:
    from stackctl.install.obtain import ways

    spec = SERVICES[service]
    off = cfg is not None and not cfg.install
    why = f" (automatic download is off: {cfg.sources.get('install', 'config')})" if off and cfg is not None else ""
    return BinaryNotFoundError(
        f"no {spec.title} binary for the native runtime: looked for {', '.join(spec.binaries)} on PATH and in stackctl's cache {default_cache_dir()}{why}",
        hint="get it with " + "; ".join(ways(service)) + ("; or drop --no-install / STACKCTL_NO_INSTALL / install: false so `up` fetches it" if off else ""),
    )


class NativeRuntime:
    name = "native"

    def available(self) -> tuple[bool, str]:
        return True, "local processes need no engine"

    # -- paths -----------------------------------------------------------------------------
    def _run_dir(self, cfg: Config) -> Path:
        return cfg.state_dir / "run"

    def log_file(self, cfg: Config, service: str) -> Path:
        return cfg.state_dir / "logs" / f"{service}.log"

    # -- contract --------------------------------------------------------------------------
    def missing(self, cfg: Config, services: tuple[str, ...], on_message: Callable[[str], None] = lambda _m: None) -> dict[str, StackctlError]:
        return {s: missing_binary_error(s, cfg) for s in services if s != "notify-sink" and find_binary(s) is None}

    def prepare(self, cfg: Config, services: tuple[str, ...]) -> None:
        for error in self.missing(cfg, services).values():
            raise error

    def start(self, cfg: Config, services: tuple[str, ...]) -> None:
        ensure_dir(self._run_dir(cfg))
        ensure_dir(cfg.state_dir / "logs")
        owned = self._records(cfg, services)
        for service in services:
            rec = owned.get(service)
            if rec and pids.is_ours(rec):
                continue  # idempotent: already running
            self._spawn(cfg, service)

    def _spawn(self, cfg: Config, service: str) -> None:
        argv, env = self.command(cfg, service)
        for mount in load_definition()[service].mounts:
            if mount.named:
                ensure_dir(data_dir(cfg, mount.source))
        log_file = self.log_file(cfg, service)
        _mark_log(log_file)
        env.update(pids.owner_env(cfg.state_dir, service))
        # Spawned and recorded as one step: an interrupt in between would leave an orphan.
        with deferred_interrupts():
            found = _find(service) if service in SERVICES and SERVICES[service].binaries else None
            cwd = found[2] if found and found[2] else cfg.state_dir
            proc = spawn_detached(argv, log_file=log_file, env=env, cwd=cwd, unset=_secret_vars(cfg))
            rec = pids.record_for(service, proc.pid, argv[0], cfg.port(service), cfg.state_dir)
            try:
                pids.save(self._run_dir(cfg), rec)
            except StateError:
                pids.terminate(rec, grace=5.0)  # unrecorded, it would be nobody's to stop
                raise

    def command(self, cfg: Config, service: str) -> tuple[list[str], dict[str, str]]:
        """The argv and extra environment for ``service``, derived from its compose definition."""
        from stackctl.render.configs import path_rewriter  # only to start: `status` and `down` start faster

        sdef = load_definition()[service]
        rewrite = path_rewriter(container_path_map(cfg))
        spec = SERVICES[service]
        listen = spec.native_listen(cfg.bind, cfg.port(service)) if spec.native_listen else []
        env = {k: rewrite(v) for k, v in sdef.environment.items()}
        if service == "notify-sink":
            store = data_dir(cfg, "notify-sink") / "notifications.jsonl"
            return [sys.executable, "-m", "stackctl.runtime.notify_sink", "--store", str(store), *listen], env
        found = _find(service)
        if found is None:
            raise missing_binary_error(service, cfg)
        binary, needs, _cwd = found
        env.update(needs)
        args = [rewrite(a) for a in sdef.argv_tail()]
        if service == "grafana":
            return self._grafana(cfg, binary, env)
        if service == "redis" and cfg.redis_password:
            # From a 0600 config file, never argv: /proc/<pid>/cmdline is readable by every user.
            conf = cfg.state_dir / "secrets" / "redis-auth.conf"
            write_atomic(conf, requirepass_line(cfg.redis_password), 0o600)
            args = [str(conf), *args]
        return [str(binary), *args, *listen], env

    def _grafana(self, cfg: Config, binary: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        home = binary.resolve().parent.parent
        data = data_dir(cfg, "grafana-data")
        env.update({
            "GF_SERVER_HTTP_ADDR": cfg.bind, "GF_SERVER_HTTP_PORT": str(cfg.port("grafana")),
            "GF_PATHS_DATA": str(data), "GF_PATHS_LOGS": str(data / "log"), "GF_PATHS_PLUGINS": str(data / "plugins"),
            "GF_SECURITY_ADMIN_PASSWORD": secret(cfg.state_dir, "grafana_admin_password"),
            "GF_AUTH_ANONYMOUS_ENABLED": "true" if cfg.grafana_anonymous else "false",
        })
        sub = ["server"] if binary.name == "grafana" else []
        return [str(binary), *sub, f"--homepath={home}"], env

    def _records(self, cfg: Config, services: tuple[str, ...] | list[str]) -> dict[str, pids.PidRecord]:
        """Pid records of ``services``; a live process whose record was lost (state dir
        cleaned by hand) is found by its environment marks and recorded again."""
        run_dir = self._run_dir(cfg)
        out = {s: rec for s in services if (rec := pids.load(run_dir, s)) is not None}
        lost = [s for s in services if s not in out or not pids.is_ours(out[s])]
        if lost:
            found = pids.find_owned(cfg.state_dir, {name: s for s in services for name in SERVICES[s].binaries})
            for service in lost:
                if service in found:
                    out[service] = replace(found[service], port=cfg.port(service))
                    try:
                        pids.save(run_dir, out[service])
                    except StateError:
                        pass  # still stoppable through the marks
        return out

    def exited(self, cfg: Config, service: str) -> str | None:
        rec = pids.load(self._run_dir(cfg), service)
        if rec is None:
            return "it was never started"
        if pids.is_ours(rec):
            return None
        pids._reap(rec.pid)
        tail = redact(last_lines(_read_since_mark(self.log_file(cfg, service)), 20), cfg.redis_password)
        return f"the process exited; its last output:\n{tail}" if tail else "the process exited without output"

    def foreign_listener(self, cfg: Config, service: str) -> str | None:
        """Who answers on ``service``'s port when it is not our process tree (a project racing us
        for the port), else None: a probe that passed then proves it is our server answering."""
        from stackctl.state.ports import listener_pids

        rec = pids.load(self._run_dir(cfg), service)
        holders = listener_pids(cfg.port(service))
        if not holders:
            return None  # psutil cannot see the listener (another user's): the probe has to do
        if rec is None:
            return f"port {cfg.port(service)} is answered by pid {', '.join(map(str, sorted(holders)))}; no {service} of ours was started"
        ours = pids.tree_pids(rec)
        if holders & ours:
            return None
        return f"port {cfg.port(service)} is answered by pid {', '.join(map(str, sorted(holders)))}, not by our {service} (pid {rec.pid})"

    def stop(self, cfg: Config, services: tuple[str, ...] | None, volumes: bool) -> list[str]:
        run_dir = self._run_dir(cfg)
        names = list(services) if services is not None else list(SERVICES)
        stopped = []
        owned = self._records(cfg, names)
        for service in reversed(names):
            rec = owned.get(service)
            if rec is None:
                continue
            with deferred_interrupts():  # a second Ctrl-C does not leave it half-stopped
                if pids.is_ours(rec):
                    pids.terminate(rec)
                    stopped.append(service)
                try:
                    pids.forget(run_dir, service)
                except StateError as exc:
                    # A read-only or damaged state dir must not keep the rest running; the
                    # stale record is harmless (its pid is no longer ours).
                    log.warning("%s", exc)
        if volumes:
            self._remove_data(cfg, names)
        return stopped

    def restart(self, cfg: Config, service: str) -> None:
        rec = self._records(cfg, [service]).get(service)
        if rec is None or not pids.is_ours(rec):
            raise StateError(f"{service} is not running in project {cfg.project}: nothing to restart",
                             hint="start the stack first: stackctl up")
        with deferred_interrupts():  # never leave it stopped half-way
            pids.terminate(rec)
            self._spawn(cfg, service)

    def _remove_data(self, cfg: Config, services: list[str]) -> None:
        if not owns(cfg.state_dir):
            log.warning("not removing data under %s: stackctl did not create that folder", cfg.state_dir)
            return
        for service in services:
            for mount in load_definition()[service].mounts if service in load_definition() else ():
                if mount.named:
                    shutil.rmtree(data_dir(cfg, mount.source), ignore_errors=True)

    def raw_status(self, cfg: Config, services: tuple[str, ...]) -> list[RawState]:
        out = []
        owned = self._records(cfg, services)
        for service in services:
            rec = owned.get(service)
            if rec is None:
                out.append(RawState(service, "absent"))
            elif pids.is_ours(rec):
                out.append(RawState(service, "running", detail=f"pid {rec.pid}, up {time.time() - rec.started_at:.0f}s"))
            else:
                out.append(RawState(service, "stopped", detail="process gone"))
        return out

    def running_services(self, cfg: Config) -> tuple[str, ...]:
        return tuple(s.service for s in self.raw_status(cfg, tuple(SERVICES)) if s.state == "running")

    def logs(self, cfg: Config, service: str, tail: int, follow: bool) -> Iterator[str]:
        path = self.log_file(cfg, service)
        if not path.exists():
            raise StateError(f"no logs for {service} in {path.parent}", hint="has the stack been started with --runtime native?")
        # A log written before the password was quoted may still hold it (Redis echoed the line).
        for line in _tail(path, tail, follow):
            yield redact(line, cfg.redis_password)


def _secret_vars(cfg: Config) -> set[str]:
    """stackctl's environment variables that hold a secret: services read those from files, so
    none inherits them (/proc/<pid>/environ of every service would show them otherwise)."""
    secrets = {v for v in (cfg.redis_password, *cfg.external_secrets.values()) if v}
    return {name for name, value in os.environ.items() if value in secrets} | {"REDISCLI_AUTH"}


def _mark_log(path: Path) -> None:
    """Separate runs in the appended log so "last lines" show this run only.

    Logs are 0600: a service may echo what it was given (Redis prints a config line it cannot
    parse), so a log is treated like a secret file. A log left 0644 by an older run is narrowed.
    """
    ensure_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(f"\n--- stackctl start {time.strftime('%Y-%m-%dT%H:%M:%S')} ---\n")
    except OSError as exc:
        raise StateError(f"cannot write the log file {path}: {exc.strerror}", hint=disk_hint(exc)) from None


def _read_since_mark(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text.rsplit("--- stackctl start", 1)[-1].split("\n", 1)[-1]


def _tail(path: Path, n: int, follow: bool) -> Iterator[str]:
    with open(path, errors="replace") as fh:
        lines = fh.readlines()
        for line in lines[-n:] if n > 0 else lines:
            yield line.rstrip("\n")
        while follow:
            line = fh.readline()
            if line:
                yield line.rstrip("\n")
            else:
                time.sleep(0.2)
