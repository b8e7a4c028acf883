"""``stackctl install [SERVICE...]``: download pinned release binaries for the native runtime."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from stackctl.install import cache as core
from stackctl.install import debian, store
from stackctl.cli import console
from stackctl.errors import InstallError, StackctlError, UsageError


class _Meter:
    """Remembers how much the download callback saw, for the one-line summary."""

    def __init__(self) -> None:
        self.done = 0
        self.calls = 0

    def __call__(self, done: int, total: int | None) -> None:
        self.done = done
        self.calls += 1


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _install_one(service: str, cache_dir: Path, mirror: str | None, url: str | None, sha256: str | None) -> None:
    release = core.release_for(service)
    meter = _Meter()
    started = time.monotonic()
    with console.status(f"installing {service} {release.version}…"):
        binary = core.install(
            service, cache_dir=cache_dir, base_url=mirror, url=url, sha256=sha256, progress=meter
        )
    if meter.calls == 0:
        console.info(f"{service} {release.version}: already installed at {binary}")
        return
    elapsed = time.monotonic() - started
    console.success(f"{service} {release.version}: {_size(meter.done)} in {elapsed:.1f}s, verified -> {binary}")


def register(app: typer.Typer) -> None:
    @app.command("install")
    def install_cmd(
        services: Annotated[
            Optional[list[str]],
            typer.Argument(help="Services to install (default: every installable one).", show_default=False),
        ] = None,
        cache_dir: Annotated[
            Optional[Path],
            typer.Option("--cache-dir", help="Binary cache (default: $STACKCTL_CACHE_DIR or $XDG_CACHE_HOME/stackctl/bin)."),
        ] = None,
        mirror: Annotated[
            Optional[str],
            typer.Option("--mirror", envvar=core.MIRROR_ENV, help="Base URL of a mirror serving upstream's release paths."),
        ] = None,
        url: Annotated[
            Optional[str], typer.Option("--url", help="Archive URL to use instead of the pinned one (one service only).")
        ] = None,
        sha256: Annotated[
            Optional[str], typer.Option("--sha256", help="Expected sha256 of the archive (one service only).")
        ] = None,
        from_debian: Annotated[bool, typer.Option(
            "--debian", help="Use the Debian/Ubuntu package, unpacked into the cache (no root, no system service) instead of the release.",
        )] = False,
        list_: Annotated[bool, typer.Option("--list", help="List the cached binaries (release or Debian), verified.")] = False,
        remove: Annotated[bool, typer.Option("--remove", help="Remove the named cached installs (a service or an install's name).")] = False,
    ) -> None:
        """Download the pinned official release archives, verify their sha256 and unpack them."""
        names = list(services or [])
        target = cache_dir or core.default_cache_dir()
        if list_ or remove:
            _manage(target, names, remove)
            return
        if from_debian:
            for name in names or list(debian.DEBIAN):
                _install_deb(name, target)
            return
        if (url or sha256) and len(names) != 1:
            raise UsageError("--url and --sha256 apply to exactly one service", hint="stackctl install SERVICE --url URL --sha256 HEX")
        if not names:
            names = core.installable_services()
            for name, why in core.NOT_DISTRIBUTED.items():
                console.info(f"{name}: skipped; {why}")
        _install_all(names, target, mirror, url, sha256)


def _install_all(names: list[str], cache_dir: Path, mirror: str | None, url: str | None, sha256: str | None) -> None:
    if len(names) == 1:
        _install_one(names[0], cache_dir, mirror, url, sha256)
        return
    failed: list[str] = []
    for name in names:
        try:
            _install_one(name, cache_dir, mirror, url, sha256)
        except StackctlError as exc:
            console.error(f"{name}: {exc.message}", exc.hint)
            failed.append(name)
    if failed:
        raise InstallError(
            f"{len(failed)} of {len(names)} services were not installed: {', '.join(failed)}",
            hint="see the messages above; installed ones are in " + str(cache_dir),
        )


def _install_deb(service: str, cache_dir: Path) -> None:
    started = time.monotonic()
    with console.status(f"getting the Debian package of {service}…"):
        found = debian.obtain(service, cache_dir)
    console.success(f"{service}: Debian package {found.origin} in {time.monotonic() - started:.1f}s -> {found.binary}")


def _manage(cache_dir: Path, names: list[str], remove: bool) -> None:
    if remove:
        if not names:
            raise UsageError("--remove needs the services or install names to remove", hint="see `stackctl install --list`")
        for name in store.remove(cache_dir, names):
            console.success(f"removed {cache_dir / name}")
        return
    found = store.installed(cache_dir)
    if not found:
        console.info(f"the binary cache {cache_dir} is empty")
        return
    console.plain_out("\n".join(
        f"{i.service:<13} {i.source:<8} {i.version:<22} {'ok' if i.usable else 'UNUSABLE: ' + (i.problem or '?'):<10} {i.name}  ({i.origin})"
        for i in found
    ))
