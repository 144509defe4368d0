"""`hydrator`: POST the session to an API that returns an enriched session (same subject, else 500)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from cachetools import TTLCache
from httpx import USE_CLIENT_DEFAULT

from gatekeeper.access.handlers import (
    AuthSession,
    Deps,
    Retry,
    canonical,
    header_value,
    is_http_url,
    is_token,
    json_object,
    retry_default,
)
from gatekeeper.config.types import Duration
from gatekeeper.errors import GatekeeperError

log = logging.getLogger("gatekeeper.access.mutate")


@dataclass(frozen=True)
class BasicAuth:
    username: str = ""
    password: str = ""


@dataclass(frozen=True)
class ApiAuth:
    basic: BasicAuth | None = None


@dataclass(frozen=True)
class HydratorApi:
    url: str
    auth: ApiAuth = field(default_factory=ApiAuth)
    retry: Retry = retry_default(0.1, 1.0)


@dataclass(frozen=True)
class HydratorCache:
    enabled: bool = False
    ttl: Duration = Duration(60.0)


@dataclass(frozen=True)
class HydratorConfig:
    api: HydratorApi
    cache: HydratorCache = field(default_factory=HydratorCache)


class Hydrator:
    sets_headers: tuple[str, ...] = ()

    def __init__(self, cfg: HydratorConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        basic = cfg.api.auth.basic
        self.auth: tuple[str | bytes, str | bytes] | None = \
            (basic.username, basic.password) if basic and basic.username else None
        self.cache: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=10_000, ttl=float(cfg.cache.ttl) or 60.0)

    @staticmethod
    def problems(cfg: HydratorConfig) -> list[tuple[str, str]]:
        if not is_http_url(cfg.api.url):
            return [("api.url", "must be an http(s) URL")]
        return []

    async def mutate(self, session: AuthSession) -> None:
        body = json.dumps(session.as_json(), separators=(",", ":"), sort_keys=True)
        key = hashlib.sha256(body.encode()).hexdigest()
        doc = self.cache.get(key) if self.cfg.cache.enabled else None
        if doc is None:
            doc = await self._call(session, body)
            if self.cfg.cache.enabled:
                self.cache[key] = doc
        if doc.get("subject", "") != session.subject:
            raise GatekeeperError(reason="the hydrator changed the subject")
        session.extra = dict(doc.get("extra") or {})
        for name, values in (doc.get("header") or {}).items():
            if not is_token(name):
                raise GatekeeperError(reason="the hydrator answered a header name that is not an HTTP token")
            if isinstance(values, list) and values:
                session.header[canonical(name)] = header_value(str(values[0]))
            elif isinstance(values, str):
                session.header[canonical(name)] = header_value(values)

    async def _call(self, session: AuthSession, body: str) -> dict[str, Any]:
        """POST the session; transport errors and 5xx are retried (backoff up to max_delay) until give_up_after."""
        retry = self.cfg.api.retry
        deadline = time.monotonic() + (float(retry.give_up_after) or 1.0)
        delay = 0.01
        while True:
            left = deadline - time.monotonic()
            try:
                response = await self.deps.http.post(
                    self.cfg.api.url, content=body, auth=self.auth or USE_CLIENT_DEFAULT,
                    params=session.view.query or None,
                    headers={"Content-Type": "application/json", "Accept": "application/json"},
                    timeout=max(left, 0.01))
                failure = f"answered {response.status_code}" if response.status_code >= 500 else ""
            except httpx.HTTPError as exc:
                failure = f"could not be reached ({type(exc).__name__})"
            if not failure:
                break
            if time.monotonic() + delay >= deadline:
                log.warning("hydrator failed: denying", extra={"reason": failure})
                raise GatekeeperError(reason=f"the hydrator {failure}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, float(retry.max_delay) or delay)
        if response.status_code != 200:
            raise GatekeeperError(reason=f"the hydrator answered {response.status_code}")
        return json_object(response, "the hydrator")
