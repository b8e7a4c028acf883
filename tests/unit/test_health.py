from __future__ import annotations

from dataclasses import dataclass, field

from stackctl.state.health import ProbeResult, wait_healthy


@dataclass
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class ScriptedProbe:
    ok_after: float | None
    clock: FakeClock
    description: str = "scripted"
    calls: int = field(default=0)

    def check(self) -> ProbeResult:
        self.calls += 1
        if self.ok_after is not None and self.clock.now >= self.ok_after:
            return ProbeResult(True, "ok")
        return ProbeResult(False, "connection refused")


def test_all_healthy_returns_without_waiting_the_timeout() -> None:
    clock = FakeClock()
    probes = {"a": ScriptedProbe(0.0, clock), "b": ScriptedProbe(1.0, clock)}
    out = wait_healthy(probes, 30, clock=clock, sleep=clock.sleep, interval=0.5)
    assert not out.failed
    assert clock.now == 1.0


def test_timeout_marks_unhealthy_with_probe_detail() -> None:
    clock = FakeClock()
    out = wait_healthy({"a": ScriptedProbe(None, clock)}, 5, clock=clock, sleep=clock.sleep, interval=1)
    assert [p.state for p in out.failed] == ["unhealthy"]
    assert out.failed[0].detail == "connection refused" and clock.now == 5


def test_exited_service_stops_the_wait_early() -> None:
    clock = FakeClock()
    probes = {"a": ScriptedProbe(None, clock), "b": ScriptedProbe(0.0, clock)}
    out = wait_healthy(probes, 60, clock=clock, sleep=clock.sleep, exited=lambda s: "boom" if s == "a" else None)
    assert out.progress["a"].state == "exited" and out.progress["a"].detail == "boom"
    assert out.progress["b"].state == "healthy" and clock.now == 0


def test_updates_are_reported() -> None:
    clock = FakeClock()
    seen: list[list[str]] = []
    wait_healthy({"a": ScriptedProbe(0.5, clock)}, 5, clock=clock, sleep=clock.sleep, interval=0.5,
                 on_update=lambda ps: seen.append([p.state for p in ps]))
    assert seen[0] == ["starting"] and seen[-1] == ["healthy"]
