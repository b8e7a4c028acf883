"""Faults provoked for real, on both runtimes: crashes, signals during `up`, two `up`s at once,
a damaged state, a full / read-only / size-limited disk. Each test names the README promise
(issue 10, "Faults") it proves."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import redis
import requests

from helpers import REPO, fake_binary, isolated_env, require_binaries, require_docker, skip_or_fail, stackctl
from stackctl.runtime.pids import OWNER_ENV
from stackctl.seeding.remote_write import RemoteWriter, encode_labels, encode_write_request
from stackctl.state.ports import free_port

RUNTIMES = [pytest.param("native", marks=pytest.mark.native, id="native"),
            pytest.param("docker", marks=pytest.mark.docker, id="docker")]
NATIVE = [pytest.param("native", marks=pytest.mark.native, id="native")]


# -- helpers -------------------------------------------------------------------------------
def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60).stdout


def containers(project: str, running_only: bool = False) -> list[str]:
    args = ["ps", "-q"] if running_only else ["ps", "-aq"]
    found = set(docker(*args, "--filter", f"label=com.docker.compose.project={project}").split())
    found |= set(docker(*args, "--filter", f"label=io.stackctl.project={project}").split())
    return sorted(found)


def container_of(project: str, service: str) -> str:
    out = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}",
                 "--filter", f"label=com.docker.compose.service={service}").split()
    assert len(out) == 1, (service, out)
    return out[0]


def networks(project: str) -> list[str]:
    return docker("network", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}").split()


def state_dir(env: dict[str, str]) -> Path:
    return Path(env["STACKCTL_STATE_DIR"])


def recorded_pids(env: dict[str, str]) -> dict[str, int]:
    run = state_dir(env) / "run"
    return {p.stem: json.loads(p.read_text())["pid"] for p in run.glob("*.json") if p.is_file()} if run.is_dir() else {}


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def processes_of(state: Path) -> dict[int, str]:
    """Live processes that belong to the stack of ``state``: their argv names the state dir,
    they carry its owner mark, or run inside it (children included)."""
    mark, path = f"{OWNER_ENV}={state}".encode(), str(state).encode()
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd").removesuffix(" (deleted)")
        except OSError:
            continue
        inside = cwd == str(state) or cwd.startswith(f"{state}/")  # redis-server overwrites its environ
        if (path in cmdline or mark in environ or inside) and alive(int(entry.name)):
            out[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]
    return out


def leftovers(runtime: str, env: dict[str, str]) -> dict[str, object]:
    if runtime == "docker":
        project = env["STACKCTL_PROJECT"]
        return {k: v for k, v in {"containers": containers(project), "networks": networks(project)}.items() if v}
    left: dict[str, object] = {f"pid {pid} ({svc})": True for svc, pid in recorded_pids(env).items() if alive(pid)}
    left.update({f"pid {pid}": cmd for pid, cmd in processes_of(state_dir(env)).items()})
    return left


def wait_until(what: str, check, timeout: float = 60, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not within {timeout}s: {what}")


def spawn_cli(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`stackctl ...` in its own process group (like a shell job), stderr to ``log``."""
    with open(log, "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "stackctl", *args], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)


def clean_error(result: subprocess.CompletedProcess[str] | str) -> str:
    text = result if isinstance(result, str) else result.stderr
    assert "Traceback" not in text, text
    assert "error:" in text and "hint:" in text, text
    return text


def make_env(runtime: str, tmp_path: Path, services: tuple[str, ...], **extra: str) -> dict[str, str]:
    if runtime == "docker":
        require_docker()
    else:
        require_binaries("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "redis-server")
    env = isolated_env(tmp_path, services, STACKCTL_RUNTIME=runtime, STACKCTL_TIMEOUT="90", **extra)
    env["STACKCTL_PROJECT"] = f"fault-{uuid.uuid4().hex[:8]}"
    return env


@pytest.fixture
def teardown() -> Iterator[list[tuple[str, dict[str, str]]]]:
    """Register (runtime, env) stacks; each is taken down and checked for leftovers."""
    stacks: list[tuple[str, dict[str, str]]] = []
    yield stacks
    for runtime, env in stacks:
        stackctl("down", "--volumes", env=env, timeout=180)
        assert not leftovers(runtime, env), f"left behind: {leftovers(runtime, env)}"


# -- 1. data survives a crash and down + up ----------------------------------------------------
def remote_write(port: int, run_id: str) -> None:
    now_ms = int(time.time() * 1000)
    labels = encode_labels((("__name__", "stackctl_fault_probe"), ("run", run_id)))
    ts = [now_ms - 120_000, now_ms - 60_000]
    import numpy as np

    body = encode_write_request([(labels, np.array(ts, dtype=np.int64), np.array([1.0, 2.0]))])
    RemoteWriter(f"http://127.0.0.1:{port}", give_up_after=20).send(body)


def probe_count(port: int, run_id: str) -> float:
    query = f'count_over_time(stackctl_fault_probe{{run="{run_id}"}}[10m])'
    data = requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": query}, timeout=10).json()
    result = data["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


@pytest.mark.promise("R2")
@pytest.mark.parametrize("how", ["crash", "down-up"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_history_and_streams_survive_a_crash_and_down_up(runtime: str, how: str, tmp_path: Path, teardown) -> None:
    """Promise: Prometheus and Redis restarted by `stackctl up` after a crash, or by `down` + `up`,
    still have their history and stream data (volumes and data dirs persist)."""
    env = make_env(runtime, tmp_path, ("prometheus", "redis"))
    teardown.append((runtime, env))
    first = stackctl("up", env=env)
    assert first.returncode == 0, first.stderr
    prom, rport, run_id = int(env["STACKCTL_PORT_PROMETHEUS"]), int(env["STACKCTL_PORT_REDIS"]), uuid.uuid4().hex[:8]
    remote_write(prom, run_id)
    assert probe_count(prom, run_id) == 2
    r = redis.Redis(host="127.0.0.1", port=rport, socket_timeout=5)
    r.set(f"fault:{run_id}", "kept")
    entry = r.xadd(f"fault-stream:{run_id}", {"n": "1"})
    time.sleep(1.5)  # appendfsync everysec: the AOF is written within a second

    if how == "down-up":
        assert stackctl("down", env=env).returncode == 0
    elif runtime == "native":
        before = recorded_pids(env)
        for service in ("prometheus", "redis"):
            os.kill(before[service], signal.SIGKILL)
        wait_until("killed processes are gone", lambda: not any(alive(before[s]) for s in ("prometheus", "redis")))
    else:
        for service in ("prometheus", "redis"):
            docker("kill", container_of(env["STACKCTL_PROJECT"], service))

    again = stackctl("up", env=env)
    assert again.returncode == 0, again.stderr
    if how == "crash" and runtime == "native":
        assert recorded_pids(env)["prometheus"] != before["prometheus"], "the crashed process was started again"
    assert wait_until("the probe series is back", lambda: probe_count(prom, run_id) == 2, timeout=30)
    r = redis.Redis(host="127.0.0.1", port=rport, socket_timeout=5)
    assert r.get(f"fault:{run_id}") == b"kept"
    assert [e[0] for e in r.xrange(f"fault-stream:{run_id}") or []] == [entry]


# -- 2. Ctrl-C and SIGTERM during up --------------------------------------------------------------
def never_ready_env(runtime: str, tmp_path: Path) -> tuple[dict[str, str], int]:
    """A stack `up` waits on forever; returns the env and how many things it starts."""
    if runtime == "native":
        env = make_env(runtime, tmp_path, ("prometheus", "redis"))
        env.update(fake_binary(tmp_path, "prometheus", "while :; do sleep 1; done\n"))
        return env, 2
    env = make_env(runtime, tmp_path, ("prometheus", "pushgateway", "redis"))
    env["STACKCTL_IMAGE_PUSHGATEWAY"] = "stackctl-standin/redis:latest"  # never answers /-/ready
    return env, 3


def wait_started(runtime: str, env: dict[str, str], count: int) -> None:
    if runtime == "native":
        wait_until(f"{count} pid records", lambda: len(recorded_pids(env)) == count, timeout=60)
    else:
        wait_until(f"{count} running containers", lambda: len(containers(env["STACKCTL_PROJECT"], True)) == count, timeout=90)
    time.sleep(1.0)  # `up` is now in its health wait


@pytest.mark.promise("R3")
@pytest.mark.parametrize("sig,keep", [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
                         ids=["sigint", "sigterm", "sigint-keep-on-failure"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_interrupted_up_stops_what_it_started(runtime: str, sig: signal.Signals, keep: bool, tmp_path: Path, teardown) -> None:
    """Promise: Ctrl-C (SIGINT) and SIGTERM during `up` stop everything started so far unless
    --keep-on-failure; no orphan container or process (checked by label and by pid)."""
    env, count = never_ready_env(runtime, tmp_path)
    teardown.append((runtime, env))
    log = tmp_path / "up.stderr"
    proc = spawn_cli("up", "--timeout", "300", *(["--keep-on-failure"] if keep else []), env=env, log=log)
    try:
        wait_started(runtime, env, count)
        pids_before = recorded_pids(env)
        assert proc.poll() is None, log.read_text()
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # what a terminal's Ctrl-C does: the whole foreground group
        else:
            os.kill(proc.pid, sig)
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = log.read_text()
    assert code == 130 and "Traceback" not in err, (code, err)  # 128 + SIGINT, as shells expect
    if keep:
        if runtime == "native":
            assert all(alive(pid) for pid in pids_before.values()), pids_before
        else:
            assert len(containers(env["STACKCTL_PROJECT"], True)) == count
        return
    assert "cleaning up" in err, err
    assert not [pid for pid in pids_before.values() if alive(pid)]
    assert not leftovers(runtime, env), leftovers(runtime, env)


@pytest.mark.promise("R3")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_second_ctrl_c_does_not_cut_the_cleanup(runtime: str, tmp_path: Path, teardown) -> None:
    """Promise R3 when the user presses Ctrl-C twice: the second one waits for the cleanup."""
    env, count = never_ready_env(runtime, tmp_path)
    teardown.append((runtime, env))
    log = tmp_path / "up.stderr"
    proc = spawn_cli("up", "--timeout", "300", env=env, log=log)
    try:
        wait_started(runtime, env, count)
        os.killpg(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while "cleaning up" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # impatient: again, while the cleanup runs
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, log.read_text()
    assert not leftovers(runtime, env), leftovers(runtime, env)


# -- 3. two ups at once ------------------------------------------------------------------------
def one_stack(runtime: str, env: dict[str, str], services: tuple[str, ...]) -> None:
    """Exactly one process / container per service, all alive."""
    if runtime == "docker":
        project = env["STACKCTL_PROJECT"]
        names = docker("ps", "--filter", f"label=com.docker.compose.project={project}", "--format",
                       '{{.Label "com.docker.compose.service"}}').split()
        assert sorted(names) == sorted(services), names
        return
    recorded = recorded_pids(env)
    assert set(recorded) == set(services) and all(alive(p) for p in recorded.values()), recorded
    leaders = {pid for pid in processes_of(state_dir(env)) if os.getsid(pid) == pid}
    assert leaders == set(recorded.values()), (leaders, recorded)


@pytest.mark.promise("R4")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_two_ups_at_once_never_build_two_stacks(runtime: str, tmp_path: Path, teardown) -> None:
    """Promise: two `stackctl up` at once on the same project: one waits or refuses (a lock,
    naming the other pid), never two half-stacks."""
    services = ("prometheus", "redis")
    env = make_env(runtime, tmp_path, services)
    if runtime == "native":  # a Prometheus slow to start keeps the first `up` busy for a while
        env.update(fake_binary(tmp_path, "prometheus", f'sleep 4; exec {shutil.which("prometheus")} "$@"\n'))
    teardown.append((runtime, env))
    lock = state_dir(env) / "lock"

    first = spawn_cli("up", env=env, log=tmp_path / "first.stderr")
    wait_until("the first up holds the lock", lambda: lock.is_file() and f"pid {first.pid}" in lock.read_text(), timeout=60, interval=0.02)
    second = stackctl("up", env=env)
    assert first.wait(timeout=180) == 0, (tmp_path / "first.stderr").read_text()
    assert second.returncode != 0
    text = clean_error(second)
    assert f"pid {first.pid}: up" in text and "another stackctl" in text, text
    one_stack(runtime, env, services)

    # and when both start in the same instant
    assert stackctl("down", env=env).returncode == 0
    racers = [spawn_cli("up", env=env, log=tmp_path / f"racer{i}.stderr") for i in range(2)]
    codes = [p.wait(timeout=180) for p in racers]
    assert 0 in codes, [(tmp_path / f"racer{i}.stderr").read_text() for i in range(2)]
    for i, code in enumerate(codes):
        if code != 0:
            text = clean_error((tmp_path / f"racer{i}.stderr").read_text())
            assert f"pid {racers[1 - i].pid}: up" in text, text
    one_stack(runtime, env, services)


# -- 4. down with a partly gone state ---------------------------------------------------------
@pytest.mark.promise("R5")
@pytest.mark.parametrize("damage", ["killed-by-hand", "state-dir-deleted", "both"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_down_is_idempotent_when_state_is_partly_gone(runtime: str, damage: str, tmp_path: Path, teardown) -> None:
    """Promise: `down` is idempotent and works when the state is partly gone (containers
    removed by hand, processes already dead, state dir deleted)."""
    env = make_env(runtime, tmp_path, ("prometheus", "pushgateway", "redis"))
    teardown.append((runtime, env))
    assert stackctl("up", env=env).returncode == 0
    project, state = env["STACKCTL_PROJECT"], state_dir(env)
    if damage in ("killed-by-hand", "both"):
        if runtime == "native":
            victims = recorded_pids(env) if damage == "killed-by-hand" else {"redis": recorded_pids(env)["redis"]}
            for pid in victims.values():
                os.kill(pid, signal.SIGKILL)
            wait_until("killed", lambda: not any(alive(p) for p in victims.values()))
        else:
            victims_c = containers(project) if damage == "killed-by-hand" else [container_of(project, "redis")]
            docker("rm", "-f", *victims_c)
    if damage in ("state-dir-deleted", "both"):
        subprocess.run(["rm", "-rf", str(state)], check=True)
    for attempt in (1, 2):
        result = stackctl("down", env=env)
        assert result.returncode == 0, (attempt, result.stderr)
        assert "Traceback" not in result.stderr
        assert not leftovers(runtime, env), (attempt, leftovers(runtime, env))


# -- 5. full disk, read-only and unwritable state dirs ---------------------------------------
@pytest.mark.promise("R6")
@pytest.mark.parametrize("where", ["parent-is-a-file", "under-proc"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_unwritable_state_dir_is_a_clear_error(runtime: str, where: str, tmp_path: Path) -> None:
    """Promise: an unwritable state dir gives a clear error (what, where, hint), nothing started."""
    env = make_env(runtime, tmp_path, ("prometheus", "redis"))
    if where == "parent-is-a-file":
        (tmp_path / "afile").write_text("not a folder\n")
        env["STACKCTL_STATE_DIR"] = str(tmp_path / "afile" / "state")
    else:
        env["STACKCTL_STATE_DIR"] = f"/proc/stackctl-{uuid.uuid4().hex[:6]}/state"
    result = stackctl("up", env=env)
    assert result.returncode != 0
    text = clean_error(result)
    assert "state" in text and ("afile" in text if where == "parent-is-a-file" else "/proc/stackctl-" in text), text
    assert "STACKCTL_STATE_DIR" in text, text
    if where == "parent-is-a-file":
        assert f"{tmp_path / 'afile'} is a file, not a folder" in text, text
    assert not leftovers(runtime, env)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a disk we can fill, and remount read-only."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs here (needed to fill a disk for real): {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "data" not in p.relative_to(root).parts[:1]
            and p.parts[-2:-1] != ("logs",) and p.name != "lock"}


def fill(disk: Path) -> None:
    with open(disk / f"filler-{uuid.uuid4().hex[:6]}", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    for _ in range(64):  # the last partial pages too
        try:
            (disk / f"filler-{uuid.uuid4().hex[:6]}").write_bytes(b"\0" * 512)
        except OSError:
            break


def healthy(env: dict[str, str]) -> bool:
    out = stackctl("status", "--json", env=env)
    return out.returncode == 0 and all(s["state"] == "healthy" for s in json.loads(out.stdout))


@pytest.mark.promise("R6")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_full_disk_is_a_clear_error_and_corrupts_nothing(runtime: str, tmp_path: Path, small_disk: Path, teardown) -> None:
    """Promise: a full disk gives a clear error; nothing is corrupted (rendered configs and
    pid records intact), nothing half-started; the running stack can still be taken down."""
    env = make_env(runtime, tmp_path, ("redis",), STACKCTL_STATE_DIR=str(small_disk / "state"))
    teardown.append((runtime, env))
    state = state_dir(env)
    assert stackctl("up", env=env).returncode == 0
    before = snapshot(state)
    fill(small_disk)

    again = stackctl("up", env=env)  # the same stack again, on a full disk
    assert again.returncode != 0
    text = clean_error(again)
    assert "No space left on device" in text and str(state) in text and "the disk is full" in text, text
    assert snapshot(state) == before, "nothing rewritten or truncated"
    assert healthy(env), "the running stack is untouched"
    assert not list(state.rglob(".*.tmp")), "no temp files left"

    down = stackctl("down", env=env)  # stopping needs no disk space
    assert down.returncode == 0, down.stderr
    assert not leftovers(runtime, env)

    fill(small_disk)  # what `down` freed
    env["STACKCTL_PORT_REDIS"] = str(free_port())  # a changed config must be written: it cannot be
    changed = stackctl("up", env=env)
    assert changed.returncode != 0 and "No space left on device" in clean_error(changed)
    assert not leftovers(runtime, env), "nothing half-started"
    for name in [k for k in before if k.startswith("rendered/")]:
        assert (state / name).read_bytes() == before[name], f"{name} intact"

    for filler in small_disk.glob("filler*"):
        filler.unlink()
    ok = stackctl("up", env=env)
    assert ok.returncode == 0, ok.stderr


@pytest.mark.promise("R6")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_read_only_state_dir_is_a_clear_error_and_down_still_works(runtime: str, tmp_path: Path, small_disk: Path, teardown) -> None:
    """Promise: an unwritable (read-only) state dir gives a clear error and corrupts nothing;
    `down` still stops the stack."""
    env = make_env(runtime, tmp_path, ("redis",), STACKCTL_STATE_DIR=str(small_disk / "state"))
    teardown.append((runtime, env))
    state = state_dir(env)
    state.mkdir()
    for name in ("data", "logs"):  # files the running processes keep open live elsewhere: the
        (tmp_path / name).mkdir()   # kernel refuses to remount a file system with writers ro
        (state / name).symlink_to(tmp_path / name)
    assert stackctl("up", env=env).returncode == 0
    before = snapshot(state)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        again = stackctl("up", env=env)
        assert again.returncode != 0
        text = clean_error(again)
        assert "Read-only file system" in text and str(state) in text and "read-only" in text.split("hint:")[1], text
        assert snapshot(state) == before
        assert healthy(env)
        down = stackctl("down", env=env)
        assert down.returncode == 0, down.stderr
        assert not leftovers(runtime, env)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)


@pytest.mark.promise("R6")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_file_size_limit_is_a_clear_error(runtime: str, tmp_path: Path) -> None:
    """Promise: a write the system refuses (here EFBIG under `ulimit -f`) is a clear error;
    no half-written file is left, nothing is started."""
    env = make_env(runtime, tmp_path, ("prometheus", "redis"))

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    result = subprocess.run([sys.executable, "-m", "stackctl", "up"], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=120, preexec_fn=limit)
    assert result.returncode != 0
    text = clean_error(result)
    assert "File too large" in text and "ulimit -f" in text and str(state_dir(env)) in text, text
    assert not list(state_dir(env).rglob(".*.tmp"))
    assert not leftovers(runtime, env)


@pytest.mark.promise("R6")
@pytest.mark.parametrize("fault", ["log-on-dev-full", "pid-record-unwritable"])
@pytest.mark.parametrize("runtime", NATIVE)
def test_write_failure_mid_start_stops_what_started(runtime: str, fault: str, tmp_path: Path, teardown) -> None:
    """Promise: a full disk met halfway through starting (a log file on /dev/full, a pid record
    that cannot be written) is a clear error, and nothing is left running or unrecorded."""
    env = make_env(runtime, tmp_path, ("prometheus", "redis"))
    teardown.append((runtime, env))
    state = state_dir(env)
    if fault == "log-on-dev-full":
        (state / "logs").mkdir(parents=True)
        (state / "logs" / "redis.log").symlink_to("/dev/full")
        expect = f"cannot write the log file {state / 'logs' / 'redis.log'}: No space left on device"
    else:
        (state / "run" / "redis.json").mkdir(parents=True)  # rename onto it fails
        expect = f"cannot write {state / 'run' / 'redis.json'}"
    result = stackctl("up", env=env)
    assert result.returncode != 0
    text = clean_error(result)
    assert expect in text, text
    assert "cleaning up: stopping prometheus" in text, text
    assert not leftovers(runtime, env), leftovers(runtime, env)
