"""Where to seed: explicit URLs win, else the services of the stack stackctl started."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from stackctl.seeding.engine import SeedTargets


def _with_password(url: str, password: str | None) -> str:
    parts = urlsplit(url)
    if not password or parts.password:
        return url
    # percent-encoded: '@', '/', '#', ' ' in a password would otherwise change the URL's meaning
    return urlunsplit(parts._replace(netloc=f":{quote(password, safe='')}@{parts.netloc}"))


def resolve_targets(cfg: Any | None, prometheus_url: str | None = None, loki_url: str | None = None,
                    redis_url: str | None = None) -> SeedTargets:
    """``cfg`` is the lead's Config (None: only the explicit URLs)."""
    urls: dict[str, str] = {}
    if cfg is not None:
        from stackctl.stack.orchestrator import service_urls

        urls = service_urls(cfg)
    redis = redis_url or urls.get("redis")
    if redis and not redis_url and cfg is not None:
        redis = _with_password(redis, getattr(cfg, "redis_password", None))
    return SeedTargets(prometheus_url or urls.get("prometheus"), loki_url or urls.get("loki"), redis)
