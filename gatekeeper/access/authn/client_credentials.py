"""`oauth2_client_credentials`: HTTP Basic client credentials exchanged for a token at `token_url`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass, field
from urllib.parse import unquote

import httpx
from cachetools import TTLCache

from gatekeeper.access.handlers import AuthSession, Deps, NotResponsible, Retry, is_http_url, retry_default
from gatekeeper.config.types import Duration
from gatekeeper.errors import GatekeeperError, TooManyRequests, Unauthorized

log = logging.getLogger("gatekeeper.access.authn")


@dataclass(frozen=True)
class TokenCache:
    enabled: bool = False
    ttl: Duration = Duration(0.0)
    max_tokens: int = 1000


@dataclass(frozen=True)
class ClientCredentialsConfig:
    token_url: str
    required_scope: tuple[str, ...] = ()
    retry: Retry = retry_default(1.0, 2.0)
    cache: TokenCache = field(default_factory=TokenCache)


_PASS_THROUGH = {429: TooManyRequests}


class ClientCredentials:
    def __init__(self, cfg: ClientCredentialsConfig, deps: Deps) -> None:
        self.cfg, self.deps = cfg, deps
        self.cache: TTLCache[str, bool] = TTLCache(maxsize=max(cfg.cache.max_tokens, 1),
                                                   ttl=float(cfg.cache.ttl) or 300.0)

    @staticmethod
    def problems(cfg: ClientCredentialsConfig) -> list[tuple[str, str]]:
        if not is_http_url(cfg.token_url):
            return [("token_url", "must be an http(s) URL")]
        return []

    async def authenticate(self, session: AuthSession) -> None:
        scheme, _, encoded = session.view.headers.get("authorization").partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            raise NotResponsible
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("Access credentials are invalid", reason="malformed Basic credentials") from None
        if not sep:
            raise Unauthorized("Access credentials are invalid", reason="malformed Basic credentials")
        client_id, secret = unquote(user), unquote(password)
        key = hashlib.sha256(f"{self.cfg.token_url}|{' '.join(self.cfg.required_scope)}|{client_id}:{secret}"
                             .encode()).hexdigest()
        if not (self.cfg.cache.enabled and key in self.cache):
            await self._grant(client_id, secret)
            if self.cfg.cache.enabled:
                self.cache[key] = True
        session.subject = client_id

    async def _grant(self, client_id: str, secret: str) -> None:
        form = {"grant_type": "client_credentials"}
        if self.cfg.required_scope:
            form["scope"] = " ".join(self.cfg.required_scope)
        try:
            response = await self.deps.http.post(self.cfg.token_url, data=form, auth=(client_id, secret),
                                                 timeout=float(self.cfg.retry.give_up_after) or 2.0)
        except httpx.HTTPError as exc:
            log.warning("token endpoint unreachable: denying", extra={"error": type(exc).__name__})
            raise Unauthorized("Access credentials are invalid",
                               reason="the token endpoint could not be reached") from None
        status = response.status_code
        if status == 429:
            raise TooManyRequests()
        if status in (500, 503, 504, 404):
            error = GatekeeperError(reason=f"the token endpoint answered {status}")
            error.status = status  # type: ignore[misc]
            raise error
        if status != 200:
            raise Unauthorized("Access credentials are invalid", reason=f"the token endpoint answered {status}")
        try:
            token = response.json().get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise Unauthorized("Access credentials are invalid", reason="the token endpoint returned no token")
