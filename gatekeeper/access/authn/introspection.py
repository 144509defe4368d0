"""`oauth2_introspection`: RFC 7662 token introspection, with Oathkeeper's checks and an opt-in cache
keyed by token + introspection URL (+ required scopes), never used when scopes are checked remotely."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from cachetools import TTLCache

from gatekeeper.access.authn import scopes
from gatekeeper.access.authn.tokens import TokenFrom, find_token, token_source_problems
from gatekeeper.access.handlers import (
    AuthSession,
    Deps,
    NotResponsible,
    Retry,
    is_http_url,
    json_object,
    retry_default,
)
from gatekeeper.config.types import Duration
from gatekeeper.errors import Forbidden, GatekeeperError, TooManyRequests, Unauthorized

log = logging.getLogger("gatekeeper.access.authn")


@dataclass(frozen=True)
class PreAuthorization:
    enabled: bool = False
    client_id: str = ""
    client_secret: str = ""
    audience: str = ""
    scope: tuple[str, ...] = ()
    token_url: str = ""


@dataclass(frozen=True)
class IntrospectionCache:
    enabled: bool = False
    ttl: Duration = Duration(60.0)
    max_cost: int = 100_000000


@dataclass(frozen=True)
class IntrospectionConfig:
    introspection_url: str
    required_scope: tuple[str, ...] = ()
    target_audience: tuple[str, ...] = ()
    trusted_issuers: tuple[str, ...] = ()
    scope_strategy: str = "none"
    prefix: str = ""
    preserve_host: bool = False
    introspection_request_headers: dict[str, str] = field(default_factory=dict)
    token_from: TokenFrom | None = None
    pre_authorization: PreAuthorization = field(default_factory=PreAuthorization)
    retry: Retry = retry_default(0.5, 1.0)
    cache: IntrospectionCache = field(default_factory=IntrospectionCache)


class Introspection:
    def __init__(self, cfg: IntrospectionConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        self.use_cache = cfg.cache.enabled and not (cfg.required_scope and cfg.scope_strategy == "none")
        self.cache: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=10_000, ttl=float(cfg.cache.ttl) or 60.0)
        self._pre_token: tuple[str, float] = ("", 0.0)

    @staticmethod
    def problems(cfg: IntrospectionConfig) -> list[tuple[str, str]]:
        out = []
        if not is_http_url(cfg.introspection_url):
            out.append(("introspection_url", "must be an http(s) URL"))
        return out + scopes.config_problems(cfg.scope_strategy) + token_source_problems(cfg.token_from)

    async def authenticate(self, session: AuthSession) -> None:
        cfg = self.cfg
        token = find_token(session.view, cfg.token_from)
        if not token or not token.startswith(cfg.prefix):
            raise NotResponsible
        key = hashlib.sha256(f"{cfg.introspection_url}|{' '.join(cfg.required_scope)}|{token}".encode()).hexdigest()
        doc = self.cache.get(key) if self.use_cache else None
        if doc is None:
            doc = await self._introspect(session, token)
        self._check(doc)
        if self.use_cache:
            self.cache[key] = doc
        extra = dict(doc.get("ext") or {})
        for name in ("username", "client_id", "scope"):
            if name in doc:
                extra[name] = doc[name]
        if doc.get("aud"):
            extra["aud"] = doc["aud"]
        session.subject = str(doc.get("sub", ""))
        session.extra = extra

    async def _introspect(self, session: AuthSession, token: str) -> dict[str, Any]:
        cfg = self.cfg
        form = {"token": token}
        if cfg.scope_strategy == "none" and cfg.required_scope:
            form["scope"] = " ".join(cfg.required_scope)
        headers = dict(cfg.introspection_request_headers)
        if cfg.preserve_host:
            headers["X-Forwarded-Host"] = session.view.host
        if cfg.pre_authorization.enabled:
            headers["Authorization"] = f"Bearer {await self._pre_authorization()}"
        try:
            response = await self.deps.http.post(cfg.introspection_url, data=form, headers=headers,
                                                 timeout=float(cfg.retry.give_up_after) or 1.0)
        except httpx.HTTPError as exc:
            log.warning("introspection unreachable: denying", extra={"error": type(exc).__name__})
            raise GatekeeperError(reason="the introspection endpoint could not be reached") from None
        if response.status_code == 429:
            raise TooManyRequests()
        if response.status_code != 200:
            raise GatekeeperError(reason=f"the introspection endpoint answered {response.status_code}")
        return json_object(response, "the introspection endpoint")

    async def _pre_authorization(self) -> str:
        """A client-credentials access token for the introspection endpoint, reused until shortly before expiry."""
        token, expires = self._pre_token
        if token and expires - time.monotonic() > 10:
            return token
        pre = self.cfg.pre_authorization
        form = {"grant_type": "client_credentials"}
        if pre.scope:
            form["scope"] = " ".join(pre.scope)
        if pre.audience:
            form["audience"] = pre.audience
        try:
            response = await self.deps.http.post(pre.token_url, data=form, auth=(pre.client_id, pre.client_secret),
                                                 timeout=float(self.cfg.retry.give_up_after) or 1.0)
            doc = json_object(response, "the pre-authorization token endpoint") if response.status_code == 200 \
                else {}
        except httpx.HTTPError:
            doc = {}
        token = str(doc.get("access_token") or "")
        if not token:
            raise GatekeeperError(reason="no pre-authorization token for the introspection endpoint")
        self._pre_token = (token, time.monotonic() + float(doc.get("expires_in") or 300))
        return token

    def _check(self, doc: dict[str, Any]) -> None:
        cfg = self.cfg
        if doc.get("token_use", "access_token") != "access_token":
            raise Forbidden(reason="the token is not an access token")
        if not doc.get("active"):
            raise Unauthorized("Access credentials are invalid", reason="the token is not active")
        exp = doc.get("exp")
        if isinstance(exp, int | float) and exp and exp < time.time():
            raise Unauthorized("Access credentials are invalid", reason="the token has expired")
        aud = doc.get("aud") or []
        aud = [aud] if isinstance(aud, str) else list(aud)
        if any(a not in aud for a in cfg.target_audience):
            raise Forbidden(reason="the token audience does not match")
        if cfg.trusted_issuers and doc.get("iss") not in cfg.trusted_issuers:
            raise Forbidden(reason="the token issuer is not trusted")
        if cfg.scope_strategy != "none":
            granted = str(doc.get("scope", "")).split()
            if reason := scopes.check(cfg.scope_strategy, granted, cfg.required_scope):
                raise Forbidden(reason=reason)
