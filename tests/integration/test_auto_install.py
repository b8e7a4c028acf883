"""`up` on the native runtime gets a missing binary by itself, through the release-archive path.

A local HTTP server plays the release host (STACKCTL_RELEASE_MIRROR keeps upstream's paths).
The archive holds a real Pushgateway (this machine's, packed the way upstream packs it) and
its sha256 is pinned for the test, so `up` downloads, verifies, unpacks and then really runs
it. PATH holds no server binary and no apt-get: this machine looks like a non-Debian system
without Pushgateway, so a corrupt or truncated archive ends in the error naming every way.
The Debian path is covered against the real archive by test_debian_packages_are_unpacked...
and by the fresh-machine test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from helpers import isolated_env, skip_or_fail
from stackctl.cli.app import app
from stackctl.errors import StackctlError
from stackctl.install import cache as inst
from stackctl.install import debian, store

pytestmark = pytest.mark.native

PLAT = ("linux", "amd64")
PATH_TEMPLATE = "/prometheus/pushgateway/releases/download/v1.11.1/pushgateway-1.11.1.linux-amd64.tar.gz"


class Server:
    """Serves one body at one path; ``claim`` > len(body) makes a truncated download."""

    def __init__(self) -> None:
        self.body, self.claim, self.hits = b"", 0, 0
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path != PATH_TEMPLATE:
                    self.send_response(404)
                    self.end_headers()
                    return
                srv.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", str(srv.claim or len(srv.body)))
                self.end_headers()
                self.wfile.write(srv.body)
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture(scope="module")
def archive() -> bytes:
    real = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    if real is None:
        skip_or_fail("no pushgateway binary on this machine to pack as a release archive")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        tar.add(str(Path(real).resolve()), arcname="pushgateway-1.11.1.linux-amd64/pushgateway")
    return buf.getvalue()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def env(tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch, archive: bytes) -> dict[str, str]:
    monkeypatch.setattr(inst, "platform_key", lambda: PLAT)
    pinned = dataclasses.replace(inst.RELEASES["pushgateway"], sha256={PLAT: hashlib.sha256(archive).hexdigest()})
    monkeypatch.setitem(inst.RELEASES, "pushgateway", pinned)
    empty = tmp_path / "bin"
    empty.mkdir()
    out = isolated_env(tmp_path, ("pushgateway",), STACKCTL_RUNTIME="native", STACKCTL_RELEASE_MIRROR=server.url,
                       STACKCTL_CACHE_DIR=str(tmp_path / "cache"), PATH=str(empty))
    return out


def cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """The CLI in this process (so the test's pinned sha256 applies); errors as the CLI prints them."""
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, StackctlError):
        return result.exception.exit_code, f"{result.output}\nerror: {result.exception.message}\nhint: {result.exception.hint}"
    return result.exit_code, result.output


def leftovers(cache: Path) -> list[str]:
    """What is in the cache besides its lock file: no temporary download or unpack dirs."""
    return sorted(p.name for p in cache.iterdir() if p.name != store.LOCK) if cache.exists() else []


def test_up_downloads_verifies_and_runs_the_release(env: dict[str, str], server: Server, archive: bytes) -> None:
    server.body = archive
    try:
        code, out = cli("up", env=env)
        assert code == 0, out
        assert "pushgateway: got official release 1.11.1" in out and server.url in out
        assert server.hits == 1
        code, out = cli("status", "--json", env=env)
        assert '"healthy"' in out
    finally:
        cli("down", "--volumes", env=env)
    cache = Path(env["STACKCTL_CACHE_DIR"])
    assert leftovers(cache) == ["pushgateway-1.11.1-linux-amd64"]
    found = store.usable("pushgateway", cache)
    assert found is not None and found.source == "release"
    # Listed, then reused: a second `up` downloads nothing.
    code, out = cli("install", "--list", env=env)
    assert code == 0 and "pushgateway-1.11.1-linux-amd64" in out and "release" in out
    try:
        code, out = cli("up", env=env)
        assert code == 0, out
        assert server.hits == 1
    finally:
        cli("down", "--volumes", env=env)


def test_corrupt_archive_is_refused_names_every_way_and_leaves_nothing(env: dict[str, str], server: Server, archive: bytes) -> None:
    corrupt = bytearray(archive)
    corrupt[len(corrupt) // 2] ^= 0xFF
    server.body = bytes(corrupt)
    code, out = cli("up", env=env)
    assert code == 1, out
    assert "failed verification" in out
    assert "Debian package: no Debian package download: not a Debian/Ubuntu system" in out
    assert "stackctl install pushgateway" in out and "--runtime docker" in out and "Traceback" not in out
    assert leftovers(Path(env["STACKCTL_CACHE_DIR"])) == []


def test_truncated_archive_is_refused_and_leaves_nothing(env: dict[str, str], server: Server, archive: bytes) -> None:
    server.body, server.claim = archive[: len(archive) // 3], len(archive)
    code, out = cli("up", env=env)
    assert code == 1, out
    assert "truncated" in out
    assert leftovers(Path(env["STACKCTL_CACHE_DIR"])) == []


def test_no_install_downloads_nothing_and_says_how(env: dict[str, str], server: Server, archive: bytes) -> None:
    server.body = archive
    code, out = cli("up", "--no-install", env=env)
    assert code == 1 and server.hits == 0, out
    assert "automatic download is off: flag --no-install" in out and "stackctl install pushgateway" in out
    code, out = cli("up", env={**env, "STACKCTL_NO_INSTALL": "1"})
    assert code == 1 and server.hits == 0 and "env STACKCTL_NO_INSTALL" in out, out


def test_a_tampered_cached_binary_is_not_used(env: dict[str, str], server: Server, archive: bytes) -> None:
    server.body = archive
    cache = Path(env["STACKCTL_CACHE_DIR"])
    inst.install("pushgateway", cache_dir=cache, base_url=server.url)
    found = store.usable("pushgateway", cache)
    assert found is not None and found.binary is not None
    with open(found.binary, "ab") as fh:
        fh.write(b"\0")
    assert store.usable("pushgateway", cache) is None
    code, out = cli("install", "--list", env=env)
    assert code == 0 and "does not match the sha256" in out
    code, out = cli("install", "--remove", "pushgateway", env=env)
    assert code == 0 and leftovers(cache) == []


def test_debian_packages_are_unpacked_into_the_cache_without_root_changes(tmp_path: Path) -> None:
    """The real Debian path on this machine (its apt sources): Redis, which needs two packages."""
    reason = debian.unavailable()
    if reason:
        skip_or_fail(f"Debian path not testable: {reason}")
    cache = tmp_path / "cache"
    steps: list[tuple[int, int | None, str]] = []
    found = debian.obtain("redis", cache, lambda d, t, w: steps.append((d, t, w)))
    assert found.usable and found.source == "debian" and found.binary is not None
    assert found.binary.name == "redis-server"  # the link, not redis-check-rdb: redis picks its mode by name
    assert {"redis-server", "redis-tools"} <= {p.split()[0] for p in found.origin.split(", ")}
    assert steps[-1][2] == "unpacking" and steps[-1][0] == steps[-1][1]
    assert leftovers(cache) == [".apt", found.name]
    again = debian.obtain("redis", cache)
    assert again.root == found.root


def test_debian_prometheus_runs_from_its_asset_dir_with_every_ui_link_resolved(tmp_path: Path) -> None:
    """The compiled-in /usr/share/prometheus/web is relocated; the UI's links to libjs-* files
    resolve (unpacked alongside when the machine lacks them, else the machine's own copy)."""
    reason = debian.unavailable()
    if reason:
        skip_or_fail(f"Debian path not testable: {reason}")
    found = debian.obtain("prometheus", tmp_path / "cache")
    assert found.usable and found.cwd == found.root / "usr/share/prometheus/web"
    assert b"/usr/share/prometheus/web" not in Path(found.root / "usr/bin/prometheus").read_bytes()
    links = [p for p in found.cwd.rglob("*") if p.is_symlink()]
    assert links and all(p.exists() for p in links), [str(p) for p in links if not p.exists()]
    assert "promtool" in found.tools
