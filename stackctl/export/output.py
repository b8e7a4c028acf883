"""Writing an export directory: only ever files the export wrote itself.

A manifest (``.stackctl-export.json``) lists what the last export wrote. A re-export replaces
those files and removes the ones it no longer produces; a directory that holds anything else and
no manifest is refused, so pointing ``-o`` at the wrong folder never deletes a user's files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from stackctl.errors import UsageError
from stackctl.state.dirs import ensure_dir, write_atomic

MANIFEST = ".stackctl-export.json"


def _previous(out_dir: Path) -> set[str]:
    manifest = out_dir / MANIFEST
    if not out_dir.exists():
        return set()
    if not out_dir.is_dir():
        raise UsageError(f"-o {out_dir} is not a directory")
    if not manifest.is_file():
        if any(out_dir.iterdir()):
            raise UsageError(f"{out_dir} already holds files stackctl did not write",
                             hint="give -o a new or empty directory (a re-export into the same directory replaces its own files)")
        return set()
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        raise UsageError(f"{manifest} is not a manifest stackctl can read", hint="remove the directory, or export into another one") from None
    # only plain relative paths inside the directory: a tampered manifest must not reach outside
    return {str(p) for p in listed if isinstance(p, str) and not Path(p).is_absolute() and ".." not in Path(p).parts}


def write_tree(out_dir: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` (relative path -> bytes) into ``out_dir``; return the paths written."""
    old = _previous(out_dir)
    ensure_dir(out_dir)
    written = []
    for rel, data in sorted(files.items()):
        path = out_dir / rel
        write_atomic(path, data, 0o644)
        written.append(path)
    for rel in sorted(old - set(files)):
        stale = out_dir / rel
        if stale.is_file():
            stale.unlink()
        if stale.parent != out_dir and stale.parent.is_dir() and not any(stale.parent.iterdir()):
            stale.parent.rmdir()
    write_atomic(out_dir / MANIFEST, json.dumps({"files": sorted(files)}, indent=2) + "\n", 0o644)
    return written
