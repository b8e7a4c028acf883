"""A freshly installed Debian, for the "fresh machine" test: debootstrap once, copy per test.

The base root (``debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,
ca-certificates bookworm``) is cached under /var/cache/stackctl-test/, keyed by suite, variant,
include list and mirror, and never run in: each test gets a copy, with the project copied in,
the host's resolv.conf, CA bundle and network-facing pip settings, and /proc mounted (nothing
else: no /dev, /sys or host directory is bound in). /proc is unmounted and every process left
in the copy is killed (by pid) on the way out.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

SUITE = "bookworm"
INCLUDE = ("python3", "python3-venv", "python3-pip", "ca-certificates")
CACHE = Path(os.environ.get("STACKCTL_TEST_ROOT_CACHE", "/var/cache/stackctl-test"))
MIRROR = os.environ.get("STACKCTL_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", ".mypy_cache", ".pytest_cache",
                                      ".ruff_cache", "*.egg-info", "node_modules", "build", "dist")
_PIP_KEYS = ("index-url", "extra-index-url", "trusted-host", "proxy", "timeout", "default-timeout", "retries")
_NET_ENV = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def unavailable() -> str | None:
    """Why a fresh root cannot be made here (None: it can)."""
    if os.geteuid() != 0:
        return "making and entering a Debian root needs root (debootstrap, chroot, mount)"
    for tool in ("debootstrap", "chroot", "mount", "umount"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (apt-get install debootstrap)"
    probe = Path(tempfile.mkdtemp(prefix="stackctl-proc-probe-"))
    try:
        mounted = subprocess.run([_tool("mount"), "-t", "proc", "proc", str(probe)], capture_output=True, text=True, timeout=30)
        if mounted.returncode != 0:
            return f"cannot mount /proc for a chroot ({mounted.stderr.strip()[:200]}; a container without CAP_SYS_ADMIN?)"
        subprocess.run([_tool("umount"), str(probe)], capture_output=True, timeout=30)
    finally:
        if not _mounts_under(probe):
            probe.rmdir()
    return None


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    out = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target == prefix or target.startswith(prefix + "/"):
            out.append(target)
    return sorted(out, key=len, reverse=True)  # deepest first


def _unmount_all(path: Path) -> None:
    for target in _mounts_under(path):
        if subprocess.run([_tool("umount"), target], capture_output=True, timeout=60).returncode != 0:
            subprocess.run([_tool("umount"), "-l", target], capture_output=True, timeout=60)


def _remove(path: Path) -> None:
    """rmtree, but never through a mount (a bind-mounted /dev or cache would be emptied)."""
    _unmount_all(path)
    if path.exists() and not _mounts_under(path):
        shutil.rmtree(path, ignore_errors=True)


def base_root(timeout: float = 900) -> Path:
    """The cached pristine root, made with debootstrap the first time (about a minute)."""
    key = hashlib.sha256(f"{SUITE} minbase {','.join(INCLUDE)} {MIRROR}".encode()).hexdigest()[:12]
    final = CACHE / f"debootstrap-{SUITE}-minbase-{key}"
    if (final / ".complete").exists():
        return final / "root"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once: one builds, the other waits
        if (final / ".complete").exists():
            return final / "root"
        for stale in CACHE.glob(f".{final.name}.tmp-*"):  # a build killed mid-way (we hold the lock)
            _remove(stale)
        tmp = CACHE / f".{final.name}.tmp-{os.getpid()}"
        try:
            tmp.mkdir()
            argv = [_tool("debootstrap"), "--variant=minbase", f"--include={','.join(INCLUDE)}", SUITE, str(tmp / "root"), MIRROR]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"debootstrap failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}")
            _unmount_all(tmp)
            (tmp / ".complete").write_text(f"{' '.join(argv)}\n")
            os.replace(tmp, final)
        finally:
            _remove(tmp)
    return final / "root"


def _host_pip_settings() -> dict[str, str]:
    """The host's pip settings that reach the network (a mirror, a proxy); file:// ones stay."""
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60)
    out: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"(?:global|install)\.([\w-]+)='(.*)'$", line.strip())
        if not m or m.group(1) not in _PIP_KEYS:
            continue
        key, value = m.group(1), m.group(2)
        if key in ("index-url", "extra-index-url"):
            value = " ".join(v for v in value.split() if v.startswith(("http://", "https://")))
        if value:
            out[key] = value
    return out


@dataclass
class Machine:
    root: Path
    base_env: dict[str, str]

    def run(self, script: str, *, env: Mapping[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``sh -c script`` inside the root, in a clean environment (env -i plus ``env``)."""
        full = {**self.base_env, **(env or {})}
        return subprocess.run([_tool("chroot"), str(self.root), "/bin/sh", "-c", script], env=full,
                              capture_output=True, text=True, timeout=timeout, cwd="/")

    def processes(self) -> dict[int, str]:
        """Live processes whose root is this machine, pid -> command line."""
        out = {}
        me = str(self.root)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "root") != me:
                    continue
                stat = (entry / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] == "Z":
                    continue
                out[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
        return out

    def kill_all(self) -> None:
        """Stop what is left inside (only processes rooted here: ours), TERM then KILL."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = self.processes()
            for pid in left:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 10
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.2)


def _copy_in(root: Path, project: Path) -> None:
    shutil.copytree(project, root / "src", ignore=_COPY_IGNORE, symlinks=True)
    shutil.copyfile(Path("/etc/resolv.conf").resolve(), root / "etc" / "resolv.conf")
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.exists():
        (root / "etc/ssl/certs").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bundle.resolve(), root / "etc/ssl/certs/ca-certificates.crt")
    settings = {**_host_pip_settings(), "cert": "/etc/ssl/certs/ca-certificates.crt"}
    (root / "etc" / "pip.conf").write_text("[global]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))


@contextmanager
def fresh_machine(workdir: Path, project: Path) -> Iterator[Machine]:
    """A copy of the base root with ``project`` at /src; torn down completely afterwards."""
    base = base_root()
    root = (workdir / "root").resolve()
    subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(root)], check=True, timeout=600)
    env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb",
           **{k: os.environ[k] for k in _NET_ENV if os.environ.get(k)}}
    machine = Machine(root, env)
    try:
        _copy_in(root, project)
        subprocess.run([_tool("mount"), "-t", "proc", "proc", str(root / "proc")], check=True, timeout=60)
        yield machine
    finally:
        machine.kill_all()
        _remove(root)
