"""Series as an OpenMetrics text file, the input of ``promtool tsdb create-blocks-from``.

OpenMetrics wants each metric family's lines together, timestamps in seconds, and the file
to end with ``# EOF``. Without ``# TYPE`` lines every family is ``unknown``, which promtool
imports as plain samples: exactly what remote write stores too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from stackctl.seeding.generate import Labels, Series


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series_prefix(labels: Labels) -> str:
    """``name{a="1",b="2"} `` for one series (labels without ``__name__``)."""
    name = dict(labels)["__name__"]
    pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in labels if k != "__name__")
    return f"{name}{{{pairs}}} " if pairs else f"{name} "


def _lines(s: Series) -> str:
    prefix = series_prefix(s.labels)
    # integer ms -> exact decimal seconds; float division could print 1700000000.1229999
    return "".join(f"{prefix}{v!r} {t // 1000}.{t % 1000:03d}\n"
                   for v, t in zip(s.values.tolist(), s.timestamps.tolist()))


def write_openmetrics(series: Sequence[Series], path: Path) -> None:
    # stable sort by name: a histogram's _bucket/_sum/_count series of several label sets
    # come interleaved from the generators, but a family's lines must be contiguous
    with path.open("w", encoding="utf-8") as out:
        for s in sorted(series, key=lambda s: s.name):
            out.write(_lines(s))
        out.write("# EOF\n")
