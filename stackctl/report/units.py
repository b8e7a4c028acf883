"""Values formatted the way Grafana's common units print them (``fieldConfig.defaults.unit``).

Grafana's formatters live in ``@grafana/data`` (valueFormats); no Python port exists, so the
common ones are mirrored here: ``short`` (K, Mil, Bil, ...), ``none``, ``percent``,
``percentunit``, ``bytes`` (IEC) and ``decbytes`` (SI), ``bits``, ``bps``/``Bps``, time units
(``ns`` .. ``d``, each switching to a larger unit as Grafana does: ``90 s`` -> ``1.50 min``), and
the ``…ps`` rates (``reqps``, ``ops``, ``rps``, ``wps``, ``iops``, ``cps``). An unknown unit is
shown as a suffix (Grafana's own fallback), ``suffix:X`` / ``prefix:X`` as written.

Decimals: the panel's ``decimals`` when set, else three significant digits (Grafana picks them
from the value's magnitude, giving the same figures for the values dashboards show).
"""

from __future__ import annotations

import math
from typing import Callable

Formatter = Callable[[float, "int | None"], str]

_SHORT = ("", " K", " Mil", " Bil", " Tri", " Quadr", " Quint", " Sext", " Sept")
_SI = ("", " k", " M", " G", " T", " P", " E")
_IEC = ("", " Ki", " Mi", " Gi", " Ti", " Pi", " Ei")
_COUNT = ("", "K", "M", "B", "T")
# seconds per unit, Grafana's steps for durations: each unit is used below the next one's size
_DURATIONS = (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0), ("min", 60.0), ("hour", 3600.0),
              ("day", 86400.0), ("week", 604800.0), ("year", 31536000.0))
_TIME_UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_RATES = {"reqps": "req/s", "rps": "rd/s", "wps": "wr/s", "iops": "io/s", "ops": "ops/s", "cps": "c/s",
          "opm": "ops/min", "rpm": "rd/min", "wpm": "wr/min"}


def fixed(value: float, decimals: int | None) -> str:
    """``decimals`` places, or three significant digits with trailing zeros dropped."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if decimals is not None:
        return f"{value:.{max(0, min(decimals, 20))}f}"
    if value == 0:
        return "0"
    places = max(0, 2 - int(math.floor(math.log10(abs(value)))))
    text = f"{value:.{min(places, 12)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def scaled(value: float, decimals: int | None, factor: float, suffixes: tuple[str, ...], unit: str = "") -> str:
    """Divide by ``factor`` until below it, then print with that step's suffix."""
    if not math.isfinite(value):
        return fixed(value, decimals) + unit
    i = 0
    while abs(value) >= factor and i < len(suffixes) - 1:
        value, i = value / factor, i + 1
    return f"{fixed(value, decimals)}{suffixes[i]}{unit}"


def duration(seconds: float, decimals: int | None) -> str:
    """Grafana's toSeconds & friends: the largest unit the value is at least one of."""
    if not math.isfinite(seconds) or seconds == 0:
        return f"{fixed(seconds, decimals)} s"
    name, size = _DURATIONS[0]
    for unit, unit_size in _DURATIONS:
        if abs(seconds) >= unit_size:
            name, size = unit, unit_size
    return f"{fixed(seconds / size, decimals)} {name}"


def format_value(value: float | None, unit: str | None, decimals: int | None = None) -> str:
    """``value`` as Grafana prints it in unit ``unit`` (``None``/empty: ``short``)."""
    if value is None:
        return "No data"
    unit = (unit or "short").strip()
    if unit in ("short", ""):
        return scaled(value, decimals, 1000.0, _SHORT)
    if unit in ("none", "string"):
        return fixed(value, decimals)
    if unit == "percent":
        return f"{fixed(value, decimals)}%"
    if unit == "percentunit":
        return f"{fixed(value * 100, decimals)}%"
    if unit in ("bytes", "kbytes", "mbytes"):
        mult = {"bytes": 1, "kbytes": 1024, "mbytes": 1024**2}[unit]
        return _with_space(scaled(value * mult, decimals, 1024.0, _IEC, "B"))
    if unit in ("decbytes", "deckbytes", "decmbytes"):
        dec = {"decbytes": 1.0, "deckbytes": 1e3, "decmbytes": 1e6}[unit]
        return _with_space(scaled(value * dec, decimals, 1000.0, _SI, "B"))
    if unit in ("bits", "bps", "Bps", "binBps", "binbps"):
        return _rate_of_bytes(value, decimals, unit)
    if unit in _TIME_UNITS:
        return duration(value * _TIME_UNITS[unit], decimals)
    if unit in _RATES:
        return f"{scaled(value, decimals, 1000.0, _COUNT)} {_RATES[unit]}"
    if unit.startswith("suffix:"):
        return f"{fixed(value, decimals)}{unit[7:]}"
    if unit.startswith("prefix:"):
        return f"{unit[7:]}{fixed(value, decimals)}"
    if unit.startswith("currency") and len(unit) == 11:
        return f"{unit[8:]} {scaled(value, decimals, 1000.0, _COUNT)}"
    return f"{fixed(value, decimals)} {unit}"  # Grafana shows an unknown unit as a custom suffix


def _with_space(text: str) -> str:
    return text if " " in text else text.replace("B", " B", 1)


def _rate_of_bytes(value: float, decimals: int | None, unit: str) -> str:
    if unit == "bits":
        return _with_space(scaled(value, decimals, 1000.0, _SI, "b"))
    if unit == "bps":
        return _with_space(scaled(value, decimals, 1000.0, _SI, "bps"))
    if unit == "Bps":
        return _with_space(scaled(value, decimals, 1000.0, _SI, "B/s"))
    return _with_space(scaled(value, decimals, 1024.0, _IEC, "B/s" if unit == "binBps" else "b/s"))


def axis_formatter(unit: str | None, decimals: int | None = None) -> Callable[[float, object], str]:
    """A matplotlib tick formatter (value, position) -> text in ``unit``."""
    def fmt(value: float, _pos: object = None) -> str:
        return format_value(value, unit, decimals)

    return fmt
