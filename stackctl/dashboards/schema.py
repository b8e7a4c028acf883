"""The key names of Grafana's dashboard model, from the official ``grafana-foundation-sdk``.

The SDK's Python models are generated from Grafana's published CUE schemas (the same source
as its JSON schemas). They do not validate (``from_json`` trusts its input), so we take only
what they state reliably: which keys a dashboard, a panel, a row, a gridPos and a variable
have (each generated ``from_json`` reads ``if "<key>" in data``). A key that is not one of
them but is one typo away from one (``datsource``, ``target``, ``pannels``) is a warning:
Grafana ignores it silently, and the user meant the other.
"""

from __future__ import annotations

import difflib
import inspect
import re
from functools import lru_cache

_KEY_RE = re.compile(r'if "(\w+)" in data')
_MODELS = {"dashboard": ("Dashboard",), "panel": ("Panel", "RowPanel"), "gridPos": ("GridPos",),
           "variable": ("VariableModel",), "annotation": ("AnnotationQuery",)}
# Keys Grafana still reads that the schema no longer lists: exports, old-style rows and the
# legacy graph/singlestat panels that Grafana migrates on load.
_LEGACY = {
    "dashboard": {"__inputs", "__requires", "__elements", "rows", "hideControls", "sharedCrosshair", "iteration", "preload", "gnetId"},
    "panel": {"maxPerRow", "hideTimeOverride", "cacheTimeout", "queryCachingTTL", "span", "collapsed", "panels", "legend",
              "lines", "bars", "points", "xaxis", "yaxes", "yaxis", "thresholds", "tooltip", "seriesOverrides", "aliasColors",
              "format", "renderer", "stack", "fill", "linewidth", "nullPointMode", "timeRegions", "scopedVars", "error",
              "isNew", "height", "editable", "minSpan", "timezone", "heatmap", "dataFormat", "color", "reverseYBuckets"},
}
CUTOFF = 0.85  # "lines" vs "links" (0.8) is a legacy key, not a typo; "datsource" vs "datasource" (0.95) is


@lru_cache(maxsize=None)
def known_keys(kind: str) -> frozenset[str]:
    """Keys the SDK's models read for ``kind`` (empty when the SDK is not installed)."""
    try:
        from grafana_foundation_sdk.models import dashboard as model
    except ImportError:  # the validator still runs; it only loses the typo warnings
        return frozenset()
    keys: set[str] = set()
    for name in _MODELS.get(kind, ()):
        cls = getattr(model, name, None)
        try:
            keys |= set(_KEY_RE.findall(inspect.getsource(cls.from_json))) if cls is not None else set()
        except (OSError, TypeError):
            continue
    return frozenset(keys | _LEGACY.get(kind, set())) if keys else frozenset()


def near_miss(kind: str, key: str) -> str | None:
    """The known key ``key`` is probably a typo of, or None."""
    known = known_keys(kind)
    if not known or key in known or key.startswith("__"):
        return None
    lowered = {k.lower(): k for k in known}
    if key.lower() in lowered:
        return lowered[key.lower()]
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=CUTOFF)
    return close[0] if close else None
