"""A small reader of Prometheus' HTTP API: what verification, variable resolution and seeding
read (queries, label values, series, metric names, rules, alerts).

A query Prometheus rejects is data (``QueryOutcome.error`` holds Prometheus' own message); a
server that does not answer at all is a VerifyError: nothing can be checked. One HTTP session
per reader keeps connections open: a dashboard check is hundreds of small requests.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

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


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels (``__name__`` included) and value."""

    labels: dict[str, str]
    value: str
    time: float


def unreachable(what: str, url: str, exc: Exception) -> VerifyError:
    return VerifyError(f"cannot reach {what} at {url}: {type(exc).__name__}: {exc}",
                       hint=f"start the stack (stackctl up) or point verification elsewhere with --{what.lower()}-url")


def get_json(what: str, url: str, params: Any = None, timeout: float = TIMEOUT, session: Any = None) -> Any:
    """GET a JSON API; a transport error or a non-JSON 5xx is a VerifyError."""
    try:
        resp = (session or requests).get(url, params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise unreachable(what, url, exc) from None
    try:
        body = resp.json()
    except ValueError:
        raise VerifyError(f"{what} at {url} answered HTTP {resp.status_code} with no JSON: {resp.text[:200]}") from None
    if resp.status_code >= 400 and not (isinstance(body, dict) and body.get("error")):
        raise VerifyError(f"{what} at {url} answered HTTP {resp.status_code}: {resp.text[:200]}")
    return body


class Prometheus:
    """Prometheus at ``url``. Safe to share between threads (one session per thread)."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
        return s

    def _api(self, path: str, params: Any = None) -> Any:
        body = get_json("Prometheus", f"{self.url}{path}", params, self.timeout, self.session)
        if body.get("status") != "success":
            raise VerifyError(f"Prometheus {path} failed: {body.get('error')}")
        return body["data"]

    def _post(self, path: str, data: Any) -> tuple[Any, str | None]:
        """``(data, None)`` or ``(None, Prometheus' error)``; POST: queries can be long."""
        try:
            resp = self.session.post(f"{self.url}{path}", data=data, timeout=self.timeout)
        except requests.RequestException as exc:
            raise unreachable("Prometheus", self.url, exc) from None
        try:
            body = resp.json()
        except ValueError:
            return None, f"HTTP {resp.status_code}: {resp.text[:300]}"
        if body.get("status") != "success":
            return None, f"{body.get('errorType', 'error')}: {body.get('error', resp.text[:300])}"
        return body["data"], None

    def ready(self) -> None:
        try:
            resp = self.session.get(f"{self.url}/-/ready", timeout=5)
        except requests.RequestException as exc:
            raise unreachable("Prometheus", self.url, exc) from None
        if resp.status_code != 200:
            raise VerifyError(f"Prometheus at {self.url} is not ready (HTTP {resp.status_code})", hint="wait a few seconds, or check `stackctl status`")

    def query_range(self, expr: str, start: float, end: float, step: float) -> QueryOutcome:
        data, error = self._post("/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step})
        if error is not None:
            return QueryOutcome(error=error)
        result = data.get("result") or []
        samples = sum(len(r.get("values") or []) + (1 if r.get("value") else 0) for r in result)
        return QueryOutcome(samples=samples, series=len(result), result=tuple(result))

    def query_instant(self, expr: str, time: float) -> QueryOutcome:
        """An instant query, counted like ``query_range`` (a scalar or string is one sample)."""
        data, error = self._post("/api/v1/query", {"query": expr, "time": time})
        if error is not None:
            return QueryOutcome(error=error)
        if data.get("resultType") in ("scalar", "string"):
            return QueryOutcome(samples=1, series=1, result=({"metric": {}, "value": data.get("result")},))
        result = data.get("result") or []
        return QueryOutcome(samples=len(result), series=len(result), result=tuple(result))

    def query(self, expr: str, time: float) -> tuple[list[Sample] | str | None, str | None]:
        """An instant query: ``(samples, None)`` for a vector, ``(text, None)`` for a scalar or
        string result, ``(None, error)`` when Prometheus rejects it."""
        data, error = self._post("/api/v1/query", {"query": expr, "time": time})
        if error is not None:
            return None, error
        if data.get("resultType") in ("scalar", "string"):
            return str((data.get("result") or [0, ""])[1]), None
        return [Sample(dict(r.get("metric") or {}), str((r.get("value") or [0, ""])[1]), float((r.get("value") or [0])[0]))
                for r in data.get("result") or []], None

    def label_values(self, label: str, start: float, end: float, match: Sequence[str] = ()) -> list[str]:
        params: dict[str, Any] = {"start": start, "end": end}
        if match:
            params["match[]"] = list(match)
        return [str(v) for v in self._api(f"/api/v1/label/{label}/values", params) or []]

    def label_names(self, start: float, end: float, match: Sequence[str] = ()) -> list[str]:
        params: dict[str, Any] = {"start": start, "end": end}
        if match:
            params["match[]"] = list(match)
        return [str(v) for v in self._api("/api/v1/labels", params) or []]

    def series(self, match: Sequence[str], start: float, end: float) -> list[dict[str, str]]:
        return [dict(s) for s in self._api("/api/v1/series", {"match[]": list(match), "start": start, "end": end}) or []]

    def metric_names(self, start: float, end: float) -> frozenset[str]:
        return frozenset(self.label_values("__name__", start, end))

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(self._api("/api/v1/rules").get("groups") or [])

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._api("/api/v1/alerts").get("alerts") or [])
