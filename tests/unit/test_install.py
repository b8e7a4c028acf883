"""stackctl install against a real local HTTP server serving archives built by the test."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from stackctl.errors import InstallError, UsageError
from stackctl.install import cache as inst

PLAT = ("linux", "amd64")  # fixed so the archive layout is the same on every test machine
FAKE_TEXT = "prometheus, version 3.5.0 (fake built by test_install)"
SCRIPT = f"#!/bin/sh\necho '{FAKE_TEXT}'\n".encode()
PROM_PATH = "/prometheus/prometheus/releases/download/v3.5.0/prometheus-3.5.0.{os}-{arch}.tar.gz"
LOKI_PATH = "/grafana/loki/releases/download/v3.5.0/loki-{os}-{arch}.zip"


# --- archives ------------------------------------------------------------------------------


def _tar_gz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _file(name: str, data: bytes, mode: int = 0o755) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def _link(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info, None


def prometheus_tar(plat: tuple[str, str] = PLAT, extra: list[tuple[tarfile.TarInfo, bytes | None]] | None = None) -> bytes:
    top = f"prometheus-3.5.0.{plat[0]}-{plat[1]}"
    return _tar_gz([_file(f"{top}/prometheus", SCRIPT), _file(f"{top}/LICENSE", b"Apache-2.0\n", 0o644), *(extra or [])])


def loki_zip(plat: tuple[str, str] = PLAT) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo(f"loki-{plat[0]}-{plat[1]}")
        info.external_attr = 0o644 << 16  # like upstream: no exec bit in the zip
        zf.writestr(info, b"#!/bin/sh\necho 'loki, version 3.5.0 (fake)'\n")
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- server --------------------------------------------------------------------------------


@dataclasses.dataclass
class Route:
    body: bytes
    status: int = 200
    claim_length: int | None = None  # a Content-Length larger than the body = truncated


class ReleaseServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.hits.append(self.path)
                route = server.routes.get(self.path, Route(b"not found", 404))
                self.send_response(route.status)
                length = route.claim_length if route.claim_length is not None else len(route.body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(route.body)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def serve(self, path: str, body: bytes, **kw: int) -> str:
        self.routes[path] = Route(body, **kw)
        return self.url + path


@pytest.fixture
def server() -> Iterator[ReleaseServer]:
    srv = ReleaseServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Pin the test's own archives in the release table for a fixed platform."""
    archives = {"prometheus": prometheus_tar(), "loki": loki_zip()}
    monkeypatch.setattr(inst, "platform_key", lambda: PLAT)
    for service, data in archives.items():
        monkeypatch.setitem(inst.RELEASES, service, dataclasses.replace(inst.RELEASES[service], sha256={PLAT: sha(data)}))
    return archives


def leftovers(cache_dir: Path) -> list[str]:
    return sorted(p.name for p in cache_dir.iterdir()) if cache_dir.exists() else []


# --- download, verify, unpack, cache -------------------------------------------------------


def test_install_downloads_verifies_and_caches_a_runnable_binary(server, cache, pinned):
    server.serve(PROM_PATH.format(os="linux", arch="amd64"), pinned["prometheus"])
    seen: list[tuple[int, int | None]] = []

    binary = inst.install("prometheus", cache_dir=cache, base_url=server.url, progress=lambda d, t: seen.append((d, t)))

    assert binary == cache / "prometheus-3.5.0-linux-amd64" / "prometheus-3.5.0.linux-amd64" / "prometheus"
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10, check=True)
    assert FAKE_TEXT in out.stdout
    assert seen[-1] == (len(pinned["prometheus"]), len(pinned["prometheus"]))
    assert leftovers(cache) == ["prometheus-3.5.0-linux-amd64"]  # no temp files
    assert inst.cached_binary("prometheus", cache) == binary


def test_second_install_is_idempotent_and_does_not_download(server, cache, pinned):
    server.serve(PROM_PATH.format(os="linux", arch="amd64"), pinned["prometheus"])
    first = inst.install("prometheus", cache_dir=cache, base_url=server.url)
    second = inst.install("prometheus", cache_dir=cache, base_url=server.url)
    assert first == second
    assert len(server.hits) == 1


def test_zip_archive_is_unpacked_and_made_executable(server, cache, pinned):
    server.serve(LOKI_PATH.format(os="linux", arch="amd64"), pinned["loki"])
    binary = inst.install("loki", cache_dir=cache, base_url=server.url)
    assert binary.name == "loki-linux-amd64"
    out = subprocess.run([str(binary)], capture_output=True, text=True, timeout=10, check=True)
    assert "loki, version 3.5.0" in out.stdout


def test_mirror_with_a_path_prefix_keeps_upstream_paths(server, cache, pinned):
    server.serve("/mirror" + PROM_PATH.format(os="linux", arch="amd64"), pinned["prometheus"])
    inst.install("prometheus", cache_dir=cache, base_url=server.url + "/mirror/")
    assert server.hits == ["/mirror" + PROM_PATH.format(os="linux", arch="amd64")]


# --- failures leave nothing behind ---------------------------------------------------------


def test_hash_mismatch_is_rejected_and_leaves_nothing(server, cache, pinned):
    corrupt = bytearray(pinned["prometheus"])
    corrupt[len(corrupt) // 2] ^= 0xFF
    server.serve(PROM_PATH.format(os="linux", arch="amd64"), bytes(corrupt))
    with pytest.raises(InstallError, match="failed verification") as err:
        inst.install("prometheus", cache_dir=cache, base_url=server.url)
    assert err.value.hint and "nothing was kept" in err.value.hint
    assert leftovers(cache) == []
    assert inst.cached_binary("prometheus", cache) is None


def test_truncated_download_is_rejected_and_leaves_nothing(server, cache, pinned):
    body = pinned["prometheus"]
    server.serve(PROM_PATH.format(os="linux", arch="amd64"), body[: len(body) // 2], claim_length=len(body))
    with pytest.raises(InstallError, match="truncated") as err:
        inst.install("prometheus", cache_dir=cache, base_url=server.url, timeout=5)
    assert err.value.hint
    assert leftovers(cache) == []


def test_http_404_names_the_url(server, cache, pinned):
    with pytest.raises(InstallError) as err:
        inst.install("prometheus", cache_dir=cache, base_url=server.url)
    expected_url = server.url + PROM_PATH.format(os="linux", arch="amd64")
    assert expected_url in err.value.message and "404" in err.value.message
    assert "--mirror" in (err.value.hint or "")
    assert leftovers(cache) == []


def test_unreachable_server_is_an_install_error(cache, pinned):
    with pytest.raises(InstallError, match="failed"):
        inst.install("prometheus", cache_dir=cache, base_url="http://127.0.0.1:9", timeout=2)
    assert leftovers(cache) == []


@pytest.mark.parametrize(
    "member",
    [
        pytest.param(_file("../../evil.sh", b"x"), id="dotdot"),
        pytest.param(_file("/tmp/evil.sh", b"x"), id="absolute"),
        pytest.param(_link("prometheus-3.5.0.linux-amd64/link", "../../../etc/passwd"), id="symlink-escape"),
        pytest.param(_link("prometheus-3.5.0.linux-amd64/abs", "/etc/passwd"), id="symlink-absolute"),
    ],
)
def test_path_traversal_members_are_rejected(server, cache, monkeypatch, member):
    data = prometheus_tar(extra=[member])
    monkeypatch.setattr(inst, "platform_key", lambda: PLAT)
    server.serve(PROM_PATH.format(os="linux", arch="amd64"), data)
    with pytest.raises(InstallError, match="refusing to unpack"):
        inst.install("prometheus", cache_dir=cache, base_url=server.url, sha256=sha(data))
    assert leftovers(cache) == []


def test_zip_with_dotdot_member_is_rejected(server, cache, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("loki-linux-amd64", b"#!/bin/sh\n")
        zf.writestr("../escape", b"x")
    data = buf.getvalue()
    monkeypatch.setattr(inst, "platform_key", lambda: PLAT)
    server.serve(LOKI_PATH.format(os="linux", arch="amd64"), data)
    with pytest.raises(InstallError, match="'..'"):
        inst.install("loki", cache_dir=cache, base_url=server.url, sha256=sha(data))
    assert leftovers(cache) == []


def test_archive_without_the_binary_is_rejected(server, cache, monkeypatch):
    data = _tar_gz([_file("something-else/README", b"hi", 0o644)])
    monkeypatch.setattr(inst, "platform_key", lambda: PLAT)
    server.serve(PROM_PATH.format(os="linux", arch="amd64"), data)
    with pytest.raises(InstallError, match="does not contain"):
        inst.install("prometheus", cache_dir=cache, base_url=server.url, sha256=sha(data))
    assert leftovers(cache) == []


# --- names, platforms, pins ----------------------------------------------------------------


def test_unknown_service_suggests_the_closest_name(cache):
    with pytest.raises(UsageError, match="did you mean 'prometheus'"):
        inst.install("promethues", cache_dir=cache)


def test_redis_says_to_use_the_os_package(cache):
    with pytest.raises(InstallError) as err:
        inst.install("redis", cache_dir=cache)
    assert "redis-server" in (err.value.hint or "")


def test_platform_without_a_pinned_hash_is_refused_with_a_hint(cache, monkeypatch):
    monkeypatch.setattr(inst, "platform_key", lambda: ("darwin", "amd64"))
    with pytest.raises(InstallError, match="no pinned sha256") as err:
        inst.install("pushgateway", cache_dir=cache)
    assert "--sha256" in (err.value.hint or "") and "package manager" in (err.value.hint or "")
    assert leftovers(cache) == []


def test_bad_sha256_override_is_a_usage_error(cache):
    with pytest.raises(UsageError, match="64 hex"):
        inst.install("prometheus", cache_dir=cache, sha256="abc")


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [("Linux", "x86_64", ("linux", "amd64")), ("Linux", "aarch64", ("linux", "arm64")), ("Darwin", "arm64", ("darwin", "arm64"))],
)
def test_platform_key_maps_upstream_names(monkeypatch, system, machine, expected):
    monkeypatch.setattr(inst.platform, "system", lambda: system)
    monkeypatch.setattr(inst.platform, "machine", lambda: machine)
    assert inst.platform_key() == expected


def test_platform_key_rejects_unsupported_platforms(monkeypatch):
    monkeypatch.setattr(inst.platform, "system", lambda: "Windows")
    monkeypatch.setattr(inst.platform, "machine", lambda: "AMD64")
    with pytest.raises(InstallError, match="Windows"):
        inst.platform_key()


def test_pinned_table_is_well_formed():
    for release in inst.RELEASES.values():
        assert "{version}" in release.url_template or release.version in release.url_template
        for (os_name, arch), digest in release.sha256.items():
            assert os_name in ("linux", "darwin") and arch in ("amd64", "arm64")
            assert len(digest) == 64 and int(digest, 16) >= 0
    assert "redis" not in inst.RELEASES and "redis" in inst.NOT_DISTRIBUTED


def test_default_cache_dir_follows_env_and_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("STACKCTL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert inst.default_cache_dir() == tmp_path / "xdg" / "stackctl" / "bin"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert inst.default_cache_dir() == Path.home() / ".cache" / "stackctl" / "bin"
    monkeypatch.setenv("STACKCTL_CACHE_DIR", str(tmp_path / "mine"))
    assert inst.default_cache_dir() == tmp_path / "mine"


def test_cached_binary_is_none_for_missing_or_uninstallable(cache):
    assert inst.cached_binary("prometheus", cache) is None
    assert inst.cached_binary("redis", cache) is None
    assert inst.cached_binary("nope", cache) is None


# --- CLI -----------------------------------------------------------------------------------


def test_cli_installs_through_the_mirror(server, cache, pinned):
    from stackctl.cli.app import app

    server.serve(PROM_PATH.format(os="linux", arch="amd64"), pinned["prometheus"])
    args = ["install", "prometheus", "--mirror", server.url, "--cache-dir", str(cache)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "prometheus 3.5.0" in result.output and "verified" in result.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "already installed" in again.output
    assert len(server.hits) == 1


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_cli_subprocess_with_url_and_sha256_overrides(server, cache):
    try:
        plat = inst.platform_key()
    except InstallError:
        pytest.skip("this machine has no release platform")
    data = prometheus_tar(plat)
    url = server.serve(PROM_PATH.format(os=plat[0], arch=plat[1]), data)
    proc = _run_cli("install", "prometheus", "--url", url, "--sha256", sha(data), "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stderr
    binary = inst.cached_binary("prometheus", cache)
    assert binary is not None
    assert FAKE_TEXT in subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10).stdout


def test_cli_subprocess_reads_the_mirror_env_and_fails_cleanly(server, cache):
    proc = _run_cli("install", "prometheus", "--cache-dir", str(cache), env={"STACKCTL_RELEASE_MIRROR": server.url})
    # Either no pin for this platform, or the mirror 404s (the test serves nothing): both clean.
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr and "hint:" in proc.stderr
    assert leftovers(cache) == []


def test_cli_unknown_service_exits_2_with_suggestion(cache):
    proc = _run_cli("install", "grafna", "--cache-dir", str(cache))
    assert proc.returncode == 2
    assert "did you mean 'grafana'" in proc.stderr
