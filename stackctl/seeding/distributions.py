"""Value distributions shared by gauges, histograms and log fields.

A scenario states latency as "median 1.2s, p95 4s" rather than lognormal mu/sigma, so the
parameters here are the ones people read off dashboards. Everything is vectorised: one call
draws a whole history.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from stackctl.seeding.scenario import Distribution

Z95 = 1.6448536269514722  # standard normal 95th percentile


def _lognormal_params(dist: Distribution) -> tuple[float, float]:
    assert dist.median is not None and dist.p95 is not None
    mu = math.log(dist.median)
    sigma = (math.log(dist.p95) - mu) / Z95
    return mu, sigma


def sample(dist: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws, clamped to [min, max] and rounded for integer gauges."""
    if dist.kind == "constant":
        out = np.full(n, float(dist.value or 0.0))
    elif dist.kind == "normal":
        out = rng.normal(dist.mean or 0.0, dist.stddev or 0.0, n)
    elif dist.kind == "uniform":
        out = rng.uniform(dist.low or 0.0, dist.high or 0.0, n)
    else:
        mu, sigma = _lognormal_params(dist)
        out = rng.lognormal(mu, sigma, n)
    if dist.min is not None or dist.max is not None:
        out = np.clip(out, dist.min, dist.max)
    if dist.integer:
        out = np.round(out)
    return out


def _phi(z: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf, otypes=[float])
    return 0.5 * (1.0 + erf(z / math.sqrt(2.0)))


def cdf(dist: Distribution, x: np.ndarray) -> np.ndarray:
    """P(X <= x), ignoring clamping (bucket bounds of real histograms sit inside the range)."""
    x = np.asarray(x, dtype=float)
    if dist.kind == "constant":
        return (x >= (dist.value or 0.0)).astype(float)
    if dist.kind == "normal":
        sd = dist.stddev or 1e-12
        return _phi((x - (dist.mean or 0.0)) / sd)
    if dist.kind == "uniform":
        lo, hi = dist.low or 0.0, dist.high or 0.0
        return np.clip((x - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    mu, sigma = _lognormal_params(dist)
    with np.errstate(divide="ignore"):
        logs = np.where(x > 0, np.log(np.maximum(x, 1e-300)), -np.inf)
    return _phi((logs - mu) / sigma)


@lru_cache(maxsize=256)
def bucket_model(dist: Distribution, bounds: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, conditional means) of the B+1 buckets (last one is +Inf).

    Conditional means make ``_sum`` agree with the buckets: sum/count lands where the
    distribution's mass is, not at an arbitrary bucket midpoint.
    """
    edges = np.asarray(bounds, dtype=float)
    cum = np.append(cdf(dist, edges), 1.0)
    probs = np.diff(np.concatenate(([0.0], cum)))
    probs = np.clip(probs, 0.0, None)
    probs = probs / probs.sum()
    draws = sample(dist, np.random.default_rng(0), 20_000)
    idx = np.searchsorted(edges, draws, side="left")
    means = np.empty(len(edges) + 1)
    lower = np.concatenate(([0.0], edges))
    upper = np.append(edges, edges[-1] * 2 if len(edges) else 1.0)
    for b in range(len(edges) + 1):
        hit = draws[idx == b]
        means[b] = hit.mean() if hit.size else (lower[b] + upper[b]) / 2
    return probs, means


def expected_quantile(dist: Distribution, bounds: tuple[float, ...], q: float) -> float:
    """What ``histogram_quantile(q, ...)`` converges to: Prometheus' linear interpolation
    inside the bucket, applied to the exact bucket probabilities."""
    probs, _ = bucket_model(dist, bounds)
    cum = np.cumsum(probs)
    rank = q * cum[-1]
    b = int(np.searchsorted(cum, rank, side="left"))
    if b >= len(bounds):
        return float(bounds[-1])
    lower = 0.0 if b == 0 else float(bounds[b - 1])
    below = 0.0 if b == 0 else float(cum[b - 1])
    in_bucket = float(probs[b]) or 1e-12
    return lower + (float(bounds[b]) - lower) * (rank - below) / in_bucket


def mean(dist: Distribution) -> float:
    if dist.kind == "constant":
        return float(dist.value or 0.0)
    if dist.kind == "normal":
        return float(dist.mean or 0.0)
    if dist.kind == "uniform":
        return ((dist.low or 0.0) + (dist.high or 0.0)) / 2
    mu, sigma = _lognormal_params(dist)
    return math.exp(mu + sigma * sigma / 2)
