"""Finds the stack's real assets (compose/, grafana/, prometheus/, alertmanager/, loki/, fixtures/).

In a checkout they sit at the repo root beside the package; in an installed wheel they are
shipped inside the package as ``stackctl/_assets/`` (see ``force-include`` in pyproject.toml).
``STACKCTL_ASSETS`` points somewhere else entirely (useful for forks of the packs).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from stackctl.errors import StackctlError

ASSET_DIRS = ("compose", "grafana", "prometheus", "alertmanager", "loki", "fixtures")
_PACKAGE_DIR = Path(__file__).resolve().parent


def _looks_like_assets(path: Path) -> bool:
    return all((path / name).is_dir() for name in ("compose", "prometheus"))


@lru_cache(maxsize=4)
def _find_root(override: str | None) -> Path:
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override).expanduser())
    candidates += [_PACKAGE_DIR / "_assets", _PACKAGE_DIR.parent]
    for candidate in candidates:
        if _looks_like_assets(candidate):
            return candidate.resolve()
    raise StackctlError(
        f"cannot find stackctl's assets (compose/, prometheus/, ...); looked in: {', '.join(map(str, candidates))}",
        hint="reinstall stackctl (pip install --force-reinstall stackctl) or set STACKCTL_ASSETS to a checkout",
    )


def assets_root() -> Path:
    """The directory holding compose/, grafana/, prometheus/, ... ."""
    return _find_root(os.environ.get("STACKCTL_ASSETS") or None)


def asset_path(*parts: str) -> Path:
    """``asset_path("prometheus", "rules")`` -> the shipped rules directory."""
    return assets_root().joinpath(*parts)
