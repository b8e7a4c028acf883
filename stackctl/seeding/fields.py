"""Field values for log templates and stream entries (request_id, job_id, pet_id, ...).

Values come from the caller's numpy Generator, so they are reproducible with --random-seed.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

_Maker = Callable[[np.random.Generator], str]


def _hex(rng: np.random.Generator, digits: int) -> str:
    return "".join(f"{int(x):016x}" for x in rng.integers(0, 2**63, size=-(-digits // 16)))[:digits]


def _uuid(rng: np.random.Generator) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"


BUILTINS: dict[str, _Maker] = {
    "request_id": _uuid,
    "trace_id": lambda r: _hex(r, 32),
    "job_id": _uuid,
    "embedding_id": _uuid,
    "image_id": lambda r: "img_" + _hex(r, 12),
    "pet_id": lambda r: str(int(r.integers(1, 5000))),
    "brand_id": lambda r: f"brand_{int(r.integers(1, 400))}",
    "user_id": lambda r: str(int(r.integers(1000, 99999))),
    "duration_ms": lambda r: str(int(r.lognormal(6.7, 0.6))),
    "attempt": lambda r: str(int(r.integers(1, 4))),
}


def render_fields(names: list[str], rng: np.random.Generator, custom: Mapping[str, list[str]]) -> dict[str, str]:
    """One value per field name; custom fields pick from their declared choices."""
    out: dict[str, str] = {}
    for name in names:
        if name in custom:
            choices = custom[name]
            out[name] = choices[int(rng.integers(0, len(choices)))] if choices else ""
        else:
            out[name] = BUILTINS[name](rng)
    return out
