"""Thin HTTP clients for the APIs verification reads: Prometheus, Loki, Alertmanager, the sink.

A query Prometheus rejects is data (the panel is in error, with Prometheus' own message); a
server that does not answer at all is a VerifyError: verification cannot run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from stackctl.errors import VerifyError

TIMEOUT = 30.0


@dataclass(frozen=True)
class QueryOutcome:
    """``error`` set: the server rejected the query; else ``samples`` counts what came back
    and ``result`` holds it as the API sent it (``stackctl report`` draws it)."""

    samples: int = 0
    series: int = 0
    error: str | None = None
    result: tuple[Any, ...] = field(default=(), repr=False, compare=False)


def _unreachable(what: str, url: str, exc: Exception) -> VerifyError:
    return VerifyError(f"cannot reach {what} at {url}: {type(exc).__name__}: {exc}",
                       hint=f"start the stack (stackctl up) or point verification elsewhere with --{what.lower()}-url")


def get_json(what: str, url: str, params: Any = None, timeout: float = TIMEOUT) -> Any:
    """GET a JSON API; a transport error or a non-JSON 5xx is a VerifyError."""
    try:
        resp = requests.get(url, params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise _unreachable(what, url, exc) from None
    try:
        body = resp.json()
    except ValueError:
        raise VerifyError(f"{what} at {url} answered HTTP {resp.status_code} with no JSON: {resp.text[:200]}") from None
    if resp.status_code >= 400 and not (isinstance(body, dict) and body.get("error")):
        raise VerifyError(f"{what} at {url} answered HTTP {resp.status_code}: {resp.text[:200]}")
    return body


class Prometheus:
    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout

    def _api(self, path: str, params: Any = None) -> Any:
        body = get_json("Prometheus", f"{self.url}{path}", params, self.timeout)
        if body.get("status") != "success":
            raise VerifyError(f"Prometheus {path} failed: {body.get('error')}")
        return body["data"]

    def ready(self) -> None:
        try:
            resp = requests.get(f"{self.url}/-/ready", timeout=5)
        except requests.RequestException as exc:
            raise _unreachable("Prometheus", self.url, exc) from None
        if resp.status_code != 200:
            raise VerifyError(f"Prometheus at {self.url} is not ready (HTTP {resp.status_code})", hint="wait a few seconds, or check `stackctl status`")

    def query_range(self, expr: str, start: float, end: float, step: float) -> QueryOutcome:
        # POST form: dashboard queries can be longer than a URL should be.
        try:
            resp = requests.post(f"{self.url}/api/v1/query_range", data={"query": expr, "start": start, "end": end, "step": step}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _unreachable("Prometheus", self.url, exc) from None
        try:
            body = resp.json()
        except ValueError:
            return QueryOutcome(error=f"HTTP {resp.status_code}: {resp.text[:300]}")
        if body.get("status") != "success":
            return QueryOutcome(error=f"{body.get('errorType', 'error')}: {body.get('error', resp.text[:300])}")
        result = body["data"].get("result") or []
        samples = sum(len(r.get("values") or []) + (1 if r.get("value") else 0) for r in result)
        return QueryOutcome(samples=samples, series=len(result), result=tuple(result))

    def metric_names(self, start: float, end: float) -> frozenset[str]:
        return frozenset(self._api("/api/v1/label/__name__/values", {"start": start, "end": end}))

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(self._api("/api/v1/rules").get("groups") or [])

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._api("/api/v1/alerts").get("alerts") or [])


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
            raise _unreachable("Loki", self.url, exc) from None
        if resp.status_code != 200:  # Loki answers plain text errors
            return QueryOutcome(error=f"HTTP {resp.status_code}: {resp.text.strip()[:300]}")
        result = (resp.json().get("data") or {}).get("result") or []
        return QueryOutcome(samples=sum(len(r.get("values") or []) for r in result), series=len(result), result=tuple(result))
