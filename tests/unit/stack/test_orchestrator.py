"""The orchestrator (plan, port preflight, readiness, cleanup on failure and on Ctrl-C, the record)
against a fake runtime that implements the Runtime protocol with real HTTP servers on loopback:
the probes, ports and state dir are real, only the processes are threads."""

from __future__ import annotations

import http.server
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from stackctl.config import Config, load_config
from stackctl.errors import BinaryNotFoundError, PortInUseError, ServiceUnhealthyError, StackctlError, UsageError
from stackctl.runtime.base import RawState, Runtime
from stackctl.stack import orchestrator, runtime_choice
from stackctl.state import record
from stackctl.state.ports import free_ports
from stackctl.state.record import NotRunningError

SERVICES = ("prometheus", "pushgateway")


class _Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ready\n")

    def do_POST(self) -> None:  # noqa: N802 (/-/reload)
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class FakeRuntime:
    """A Runtime whose services are HTTP servers in threads; behaviour scripted per test."""

    name: str = "native"
    absent: dict[str, StackctlError] = field(default_factory=dict)
    never_ready: tuple[str, ...] = ()  # started but never listening
    dies: tuple[str, ...] = ()  # "exits" right away
    interrupt_after: str | None = None  # Ctrl-C once this service is started
    foreign: str | None = None  # foreign_listener's answer
    servers: dict[str, http.server.HTTPServer] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    stopped: list[tuple[str, ...]] = field(default_factory=list)

    def available(self) -> tuple[bool, str]:
        return True, "fake"

    def missing(self, cfg: Config, services: tuple[str, ...], on_message: Callable[[str], None] = lambda _m: None) -> dict[str, StackctlError]:
        return {s: e for s, e in self.absent.items() if s in services}

    def prepare(self, cfg: Config, services: tuple[str, ...]) -> None:
        for error in self.missing(cfg, services).values():
            raise error

    def start(self, cfg: Config, services: tuple[str, ...]) -> None:
        for service in services:
            if service in self.servers:
                continue
            self.started.append(service)
            if service not in self.never_ready and service not in self.dies:
                server = http.server.HTTPServer(("127.0.0.1", cfg.port(service)), _Ready)
                threading.Thread(target=server.serve_forever, daemon=True).start()
                self.servers[service] = server
            if service == self.interrupt_after:
                raise KeyboardInterrupt

    def exited(self, cfg: Config, service: str) -> str | None:
        return "it exited at once (scripted)" if service in self.dies else None

    def stop(self, cfg: Config, services: tuple[str, ...] | None, volumes: bool) -> list[str]:
        names = tuple(services) if services is not None else tuple(self.servers)
        self.stopped.append(names)
        for service in names:
            server = self.servers.pop(service, None)
            if server is not None:
                server.shutdown()
                server.server_close()
        return list(names)

    def raw_status(self, cfg: Config, services: tuple[str, ...]) -> list[RawState]:
        return [RawState(s, "running" if s in self.servers else "absent") for s in services]

    def logs(self, cfg: Config, service: str, tail: int, follow: bool) -> Iterator[str]:
        return iter(["a log line"])

    def running_services(self, cfg: Config) -> tuple[str, ...]:
        return tuple(self.servers)

    def foreign_listener(self, cfg: Config, service: str) -> str | None:
        return self.foreign

    def restart(self, cfg: Config, service: str) -> None:
        self.stop(cfg, (service,), False)
        self.start(cfg, (service,))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRuntime]:
    runtime = FakeRuntime()
    typed: Runtime = runtime  # mypy checks the structural match with the protocol
    monkeypatch.setattr(runtime_choice, "native_runtime", lambda: typed)
    yield runtime
    runtime.stop(None, None, False)  # type: ignore[arg-type]


def _cfg(tmp_path: Path, **flags: object) -> Config:
    ports = dict(zip(("prometheus", "pushgateway", "alertmanager", "redis", "grafana", "loki", "notify-sink"), free_ports(7)))
    base = {"project": "unit", "runtime": "native", "services": list(SERVICES), "ports": ports, "state_dir": str(tmp_path / "state")}
    return load_config(env={"HOME": str(tmp_path)}, cwd=tmp_path, flags={**base, **flags})


def test_up_waits_for_readiness_and_writes_the_record(tmp_path: Path, fake: FakeRuntime) -> None:
    cfg = _cfg(tmp_path)
    statuses = orchestrator.up(cfg, timeout=10)
    assert {s.service: s.state for s in statuses} == {"prometheus": "healthy", "pushgateway": "healthy"}
    rec = record.load(cfg.state_dir)
    assert rec is not None and rec.running and rec.runtime == "native"
    assert rec.ports == {s: cfg.port(s) for s in SERVICES}
    assert orchestrator.service_urls(cfg)["prometheus"] == f"http://127.0.0.1:{cfg.port('prometheus')}"


def test_plan_leaves_out_what_the_runtime_cannot_run(tmp_path: Path, fake: FakeRuntime) -> None:
    fake.absent = {"pushgateway": BinaryNotFoundError("no pushgateway binary", hint="install it")}
    ports = dict(zip(("prometheus", "pushgateway", "alertmanager", "redis", "grafana", "loki", "notify-sink"), free_ports(7)))
    cfg = load_config(env={"HOME": str(tmp_path)}, cwd=tmp_path,  # the default services, on ports nobody holds
                      flags={"runtime": "native", "state_dir": str(tmp_path / "s"), "ports": ports})
    chosen = orchestrator.plan(cfg)
    assert "pushgateway" not in chosen.services and "prometheus" in chosen.services
    assert set(chosen.left_out) == {"pushgateway"}
    named = orchestrator.plan(cfg, ("prometheus", "pushgateway"))  # named: not left out, the preflight says why
    assert "pushgateway" in named.services and not named.left_out
    with pytest.raises(BinaryNotFoundError):
        orchestrator.up(cfg, ("prometheus", "pushgateway"), timeout=5)
    assert fake.started == []


def test_every_busy_port_is_reported_at_once_and_nothing_starts(tmp_path: Path, fake: FakeRuntime) -> None:
    cfg = _cfg(tmp_path)
    holders = []
    for service in SERVICES:
        sock = socket.socket()
        sock.bind(("127.0.0.1", cfg.port(service)))
        sock.listen()
        holders.append(sock)
    try:
        with pytest.raises(PortInUseError) as err:
            orchestrator.up(cfg, timeout=5)
    finally:
        for sock in holders:
            sock.close()
    message = err.value.message
    assert "2 ports" in message and all(str(cfg.port(s)) in message for s in SERVICES), message
    assert all(f"STACKCTL_PORT_{s.upper()}=" in (err.value.hint or "") for s in SERVICES)
    assert fake.started == [] and record.load(cfg.state_dir) is None


def test_a_failed_up_stops_what_it_started_and_records_nothing(tmp_path: Path, fake: FakeRuntime) -> None:
    fake.dies = ("pushgateway",)
    cfg = _cfg(tmp_path)
    with pytest.raises(ServiceUnhealthyError, match="pushgateway exited during startup"):
        orchestrator.up(cfg, timeout=10)
    assert fake.stopped == [SERVICES] and not fake.servers
    assert record.load(cfg.state_dir) is None
    with pytest.raises(NotRunningError):
        orchestrator.service_urls(cfg)


def test_ctrl_c_during_up_stops_what_it_started(tmp_path: Path, fake: FakeRuntime) -> None:
    fake.interrupt_after = "prometheus"
    cfg = _cfg(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        orchestrator.up(cfg, timeout=10)
    assert fake.stopped == [SERVICES] and not fake.servers
    assert record.load(cfg.state_dir) is None


@pytest.mark.promise("R8")
def test_a_server_that_is_not_ours_never_counts_as_ready(tmp_path: Path, fake: FakeRuntime) -> None:
    fake.foreign = "port is answered by pid 1, not by our prometheus"
    cfg = _cfg(tmp_path)
    with pytest.raises(ServiceUnhealthyError, match="not by our prometheus"):
        orchestrator.up(cfg, timeout=1)
    assert fake.stopped == [SERVICES]


def test_keep_on_failure_leaves_it_running(tmp_path: Path, fake: FakeRuntime) -> None:
    fake.never_ready = ("pushgateway",)
    cfg = _cfg(tmp_path)
    with pytest.raises(ServiceUnhealthyError, match="did not become healthy within 1s"):
        orchestrator.up(cfg, timeout=1, keep_on_failure=True)
    assert fake.stopped == [] and "prometheus" in fake.servers


def test_down_keeps_the_record_stopped_and_volumes_remove_the_state_dir(tmp_path: Path, fake: FakeRuntime) -> None:
    cfg = _cfg(tmp_path)
    orchestrator.up(cfg, timeout=10)
    record.note_scenario(cfg.state_dir, "all-healthy")
    orchestrator.down(cfg)
    rec = record.load(cfg.state_dir)
    assert rec is not None and not rec.running and rec.scenario == "all-healthy", "down keeps data and what was seeded"
    with pytest.raises(NotRunningError, match="taken down"):
        orchestrator.attached(cfg)
    orchestrator.up(cfg, timeout=10)
    assert (record.load(cfg.state_dir) or rec).scenario == "all-healthy"
    (cfg.state_dir / "seed.json").write_text("{}")
    orchestrator.down(cfg, volumes=True)
    assert not cfg.state_dir.exists(), "down --volumes removes every file of the project"


def test_up_refuses_another_config_file_unless_asked(tmp_path: Path, fake: FakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "stackctl.yaml").write_text("scrape:\n  - target: localhost:8000\n    job: myapp\n")
    state = str(tmp_path / "state")
    ports = dict(zip(("prometheus", "pushgateway"), free_ports(2)))
    flags = {"project": "unit", "runtime": "native", "services": list(SERVICES), "ports": ports, "state_dir": state}
    monkeypatch.chdir(repo)
    orchestrator.up(load_config(env={"HOME": str(tmp_path)}, cwd=repo, flags=flags), timeout=10)
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    elsewhere = load_config(env={"HOME": str(tmp_path)}, cwd=other, flags=flags)
    with pytest.raises(UsageError) as err:
        orchestrator.up(elsewhere, timeout=10)
    text = err.value.message + (err.value.hint or "")
    assert str(repo / "stackctl.yaml") in text and "no stackctl.yaml" in text
    assert "targets dropped: myapp localhost:8000/metrics" in text and "--replace-config" in text
    orchestrator.up(elsewhere, timeout=10, replace_config=True)
    rec = record.load(Path(state))
    assert rec is not None and rec.config_file is None and rec.inputs.targets == ()
