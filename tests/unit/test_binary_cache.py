"""The binary cache (store.py), the Debian path's pure parts and the obtain policy."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from stackctl.config import load_config
from stackctl.errors import BinaryNotFoundError, ConfigError, UsageError
from stackctl.install import debian, obtain, store

SCRIPT = b"#!/bin/sh\necho 'redis-server v=7.0.15'\n"


def fake_debian_install(cache: Path, service: str = "redis", version: str = "5:7.0.15-1") -> Path:
    """An install laid out as debian.py leaves it, with a shell script as the server."""
    root = cache / debian.dirname(service, version)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
    (root / "usr/lib/x86_64-linux-gnu/libjemalloc.so.2").write_bytes(b"\x7fELF")
    real = root / "usr/bin/redis-check-rdb"
    real.write_bytes(SCRIPT)
    real.chmod(0o755)
    (root / "usr/bin/redis-server").symlink_to("redis-check-rdb")
    record = {
        "service": service, "source": "debian", "version": version, "binary": "usr/bin/redis-server",
        "executables": {"usr/bin/redis-server": hashlib.sha256(SCRIPT).hexdigest()},
        "lib_dirs": debian.lib_dirs(root), "cwd": None,
        "packages": [{"name": "redis-server", "version": version}, {"name": "redis-tools", "version": version}],
    }
    (root / store.DEB_MARKER).write_text(json.dumps(record))
    return root


def test_a_debian_install_is_usable_keeps_the_link_name_and_sets_the_library_path(tmp_path: Path) -> None:
    root = fake_debian_install(tmp_path)
    found = store.usable("redis", tmp_path)
    assert found is not None and found.source == "debian" and found.version == "5:7.0.15-1"
    assert found.binary == root / "usr/bin/redis-server"  # not redis-check-rdb: redis decides by its name
    assert found.env()["LD_LIBRARY_PATH"].split(os.pathsep)[0] == str(root / "usr/lib/x86_64-linux-gnu")
    assert found.origin == "redis-server 5:7.0.15-1, redis-tools 5:7.0.15-1"


def test_an_edited_binary_fails_verification_and_is_not_used(tmp_path: Path) -> None:
    root = fake_debian_install(tmp_path)
    (root / "usr/bin/redis-check-rdb").write_bytes(SCRIPT + b"# changed\n")
    assert store.usable("redis", tmp_path) is None
    [listed] = store.installed(tmp_path)
    assert not listed.usable and "sha256" in (listed.problem or "")


def test_a_binary_without_exec_bit_or_escaping_link_is_not_used(tmp_path: Path) -> None:
    root = fake_debian_install(tmp_path)
    real = root / "usr/bin/redis-check-rdb"
    real.chmod(real.stat().st_mode & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    assert store.usable("redis", tmp_path) is None
    real.chmod(0o755)
    (root / "usr/bin/redis-server").unlink()
    outside = tmp_path / "outside"
    outside.write_bytes(SCRIPT)
    outside.chmod(0o755)
    (root / "usr/bin/redis-server").symlink_to(outside)
    assert store.usable("redis", tmp_path) is None


def test_temporary_and_markerless_dirs_never_look_installed(tmp_path: Path) -> None:
    (tmp_path / ".debian-redis-1.tmp-abc/usr/bin").mkdir(parents=True)
    (tmp_path / "debian-redis-2/usr/bin").mkdir(parents=True)  # unpacked, never committed (no marker)
    (tmp_path / ".apt/lists").mkdir(parents=True)
    assert store.installed(tmp_path) == [] and store.usable("redis", tmp_path) is None


def test_remove_by_service_or_name_and_unknown_names(tmp_path: Path) -> None:
    root = fake_debian_install(tmp_path)
    with pytest.raises(UsageError, match="nothing named 'prometheus'"):
        store.remove(tmp_path, ["prometheus"])
    assert store.remove(tmp_path, ["redis"]) == [root.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    root = fake_debian_install(tmp_path)
    assert store.remove(tmp_path, [root.name]) == [root.name]


def test_companion_tools_are_found_with_their_environment(tmp_path: Path) -> None:
    root = fake_debian_install(tmp_path)
    cli = root / "usr/bin/redis-cli"
    cli.write_bytes(b"#!/bin/sh\n")
    cli.chmod(0o755)
    marker = json.loads((root / store.DEB_MARKER).read_text())
    marker["executables"]["usr/bin/redis-cli"] = hashlib.sha256(b"#!/bin/sh\n").hexdigest()
    (root / store.DEB_MARKER).write_text(json.dumps(marker))
    found = store.find_tool("redis-cli", tmp_path)
    assert found is not None and found[0] == cli and "LD_LIBRARY_PATH" in found[1]
    assert store.find_tool("amtool", tmp_path) is None


# --- debian.py, the parts that need no network -----------------------------------------------


def test_deb_file_names_and_install_dir_names() -> None:
    assert debian._name_version("redis-server_5%3a7.0.15-1~deb12u10_amd64.deb") == ("redis-server", "5:7.0.15-1~deb12u10")
    assert debian.dirname("redis", "5:7.0.15-1~deb12u10") == "debian-redis-5_7.0.15-1_deb12u10"


def test_compiled_in_asset_path_is_rewritten_to_the_same_length(tmp_path: Path) -> None:
    source = debian.DEBIAN["alertmanager"]
    assert source.assets
    (tmp_path / source.assets).mkdir(parents=True)
    binary = tmp_path / source.binary
    binary.parent.mkdir(parents=True)
    original = b"\x00head/usr/share/prometheus/alertmanager/ui/tail/usr/share/prometheus/alertmanager\x00"
    binary.write_bytes(original)
    debian._relocate(tmp_path, source)
    patched = binary.read_bytes()
    assert len(patched) == len(original) and b"/usr/share" not in patched
    assert patched.startswith(b"\x00head./") and b"/ui/tail./" in patched


def test_every_debian_service_names_its_packages_and_grafana_loki_are_explained() -> None:
    assert debian.DEBIAN["redis"].packages == ("redis-server", "redis-tools")
    assert set(debian.DEBIAN) | set(debian.NOT_IN_DEBIAN) == {"prometheus", "alertmanager", "pushgateway", "redis", "grafana", "loki"}


def test_without_apt_the_debian_path_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "not a Debian/Ubuntu system" in (debian.unavailable() or "")


# --- obtain: the order and the error ----------------------------------------------------------


def test_nothing_obtainable_names_every_way(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get
    steps: list[obtain.Step] = []
    attempts = obtain.Attempts()
    with pytest.raises(BinaryNotFoundError) as err:
        # port 9 on loopback: nothing listens, the release host "does not answer" at once
        obtain.obtain("prometheus", cache_dir=tmp_path / "cache", mirror="http://127.0.0.1:9", on_step=steps.append, attempts=attempts)
    message, hint = err.value.message, err.value.hint or ""
    assert "release archive: download of prometheus" in message and "Debian package: no Debian package download" in message
    for way in ("stackctl install prometheus", "apt-get install prometheus", "--runtime docker", "--services without prometheus"):
        assert way in hint
    assert steps[-1].state == "failed"
    assert attempts.unreachable == {"127.0.0.1:9"}
    with pytest.raises(BinaryNotFoundError, match="did not answer"):
        obtain.obtain("alertmanager", cache_dir=tmp_path / "cache", mirror="http://127.0.0.1:9", attempts=attempts)


def test_redis_and_grafana_say_why_there_is_no_release_or_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFoundError, match="Redis publishes source only"):
        obtain.obtain("redis", cache_dir=tmp_path / "cache")
    with pytest.raises(BinaryNotFoundError, match="Grafana is not packaged by Debian"):
        obtain.obtain("grafana", cache_dir=tmp_path / "cache", mirror="http://127.0.0.1:9")


# --- configuration ------------------------------------------------------------------------------


def test_install_setting_from_file_env_and_flag(tmp_path: Path) -> None:
    assert load_config(env={}, cwd=tmp_path).install is True
    (tmp_path / "stackctl.yaml").write_text("install: false\nrelease_mirror: https://mirror.example/gh\n")
    cfg = load_config(env={}, cwd=tmp_path)
    assert cfg.install is False and cfg.sources["install"] == "stackctl.yaml"
    assert cfg.release_mirror == "https://mirror.example/gh"
    (tmp_path / "stackctl.yaml").unlink()
    cfg = load_config(env={"STACKCTL_NO_INSTALL": "1", "STACKCTL_RELEASE_MIRROR": "http://m"}, cwd=tmp_path)
    assert cfg.install is False and cfg.sources["install"] == "env STACKCTL_NO_INSTALL" and cfg.release_mirror == "http://m"
    assert load_config(env={"STACKCTL_NO_INSTALL": "0"}, cwd=tmp_path).install is True
    cfg = load_config(env={}, cwd=tmp_path, flags={"install": False})
    assert cfg.install is False and cfg.sources["install"] == "flag --no-install"


def test_install_setting_must_be_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "stackctl.yaml").write_text("install: maybe\n")
    with pytest.raises(ConfigError):
        load_config(env={}, cwd=tmp_path)


def test_leftovers_of_a_killed_installer_are_swept_once_stale(tmp_path: Path) -> None:
    old, fresh = tmp_path / ".debian-redis-1.tmp-abc", tmp_path / ".prometheus-3.5.0-linux-amd64.x.tar.gz.part"
    old.mkdir()
    (old / "file").write_text("x")
    fresh.write_text("x")
    os.utime(old, (0, 0))
    with store.locked(tmp_path):
        pass
    assert not old.exists() and fresh.exists()
