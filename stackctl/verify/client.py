"""Thin HTTP clients for the APIs verification reads: Loki here; Prometheus (and ``get_json``)
live in :mod:`stackctl.query.prometheus`, below the dashboards layer that resolves variables.

A query Prometheus rejects is data (the panel is in error, with Prometheus' own message); a
server that does not answer at all is a VerifyError: verification cannot run.
"""

from __future__ import annotations

import requests

from stackctl.query.prometheus import TIMEOUT, Prometheus, QueryOutcome, unreachable, get_json

__all__ = ["TIMEOUT", "Loki", "Prometheus", "QueryOutcome", "get_json"]


class Loki:
    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout

    def reachable(self) -> str | None:
        """None when Loki answers ready, else why not."""
        try:
            resp = requests.get(f"{self.url}/ready", timeout=3)
        except requests.RequestException as exc:
            return f"Loki at {self.url} is not reachable ({type(exc).__name__})"
        return None if resp.status_code == 200 else f"Loki at {self.url} is not ready (HTTP {resp.status_code})"

    def query_range(self, expr: str, start: float, end: float, step: float) -> QueryOutcome:
        params: dict[str, str | int] = {"query": expr, "start": int(start * 1e9), "end": int(end * 1e9), "step": f"{int(step)}s", "limit": 100, "direction": "backward"}
        try:
            resp = requests.get(f"{self.url}/loki/api/v1/query_range", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise unreachable("Loki", self.url, exc) from None
        if resp.status_code != 200:  # Loki answers plain text errors
            return QueryOutcome(error=f"HTTP {resp.status_code}: {resp.text.strip()[:300]}")
        result = (resp.json().get("data") or {}).get("result") or []
        return QueryOutcome(samples=sum(len(r.get("values") or []) for r in result), series=len(result), result=tuple(result))
