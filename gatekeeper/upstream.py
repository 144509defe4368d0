"""For Python apps behind gatekeeper: verify the `id_token` the `id_token` mutator sends
(`Authorization: Bearer <jwt>`) against gatekeeper's JWKS and hand the identity to your handlers.

ASGI (Starlette, FastAPI, Django ASGI...)::

    app = GatekeeperMiddleware(app, jwks_url="http://gatekeeper:4456/.well-known/jwks.json",
                               issuer="https://gatekeeper.example", audience="my-app")
    # in a handler: request.scope["gatekeeper.identity"].subject

WSGI (Flask, Django...)::

    app.wsgi_app = GatekeeperWSGIMiddleware(app.wsgi_app, jwks_url=..., issuer=...)
    # in a view: request.environ["gatekeeper.identity"].claims["email"]

Keys are cached and re-fetched when a token names an unknown `kid` (at most once per `min_refresh`
seconds). With `required=True` (the default) a request without a valid token gets 401 and never
reaches the app; with `required=False` the identity is None instead.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import jwt
from jwt.types import Options

SCOPE_KEY = "gatekeeper.identity"
_UNAUTHORIZED = json.dumps({"error": {"code": 401, "status": "Unauthorized", "id": "unauthorized",
                                      "message": "The request could not be authorized"}}).encode()


@dataclass(frozen=True)
class Identity:
    """The verified identity: `subject` (the identity id) and every claim of the id_token."""

    subject: str
    claims: dict[str, Any] = field(default_factory=dict)


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed by gatekeeper."""


class IdentityVerifier:
    """Verifies gatekeeper id_tokens; thread-safe, usable from sync and async code."""

    def __init__(self, jwks_url: str, *, issuer: str | None = None, audience: str | None = None,
                 algorithms: tuple[str, ...] = ("RS256", "ES256"), leeway: float = 0.0, min_refresh: float = 1.0,
                 fetch: Callable[[str], bytes] | None = None) -> None:
        self.jwks_url, self.issuer, self.audience = jwks_url, issuer, audience
        self.algorithms, self.leeway, self.min_refresh = list(algorithms), leeway, min_refresh
        self._fetch = fetch or _http_get
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._fetched_at < self.min_refresh:
                return
            self._fetched_at = time.monotonic()
            try:
                doc = json.loads(self._fetch(self.jwks_url))
            except (OSError, ValueError, httpx.HTTPError):
                return  # keep the keys we have; unknown kids stay unknown (fail closed)
            keys = {}
            for item in doc.get("keys", []):
                try:
                    keys[str(item.get("kid", ""))] = jwt.PyJWK(item)
                except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                    continue
            self._keys = keys

    def _key(self, token: str) -> jwt.PyJWK:
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        if kid not in self._keys:
            self._refresh()
        if kid not in self._keys:
            raise InvalidToken("unknown signing key")
        return self._keys[kid]

    def needs_fetch(self, token: str) -> bool:
        try:
            return jwt.get_unverified_header(token).get("kid", "") not in self._keys
        except jwt.PyJWTError:
            return False

    def verify(self, token: str) -> Identity:
        key = self._key(token)
        options: Options = {"require": ["exp", "iat", "sub"], "verify_aud": self.audience is not None}
        try:
            claims = jwt.decode(token, key.key, algorithms=self.algorithms, audience=self.audience,
                                issuer=self.issuer, leeway=self.leeway, options=options)
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None
        return Identity(str(claims["sub"]), claims)

    async def averify(self, token: str) -> Identity:
        """Like `verify`; fetching keys (rare) runs in a worker thread so the event loop never blocks."""
        if self.needs_fetch(token):
            return await anyio.to_thread.run_sync(self.verify, token)
        return self.verify(token)


def _http_get(url: str) -> bytes:
    if url.startswith("file://"):
        with open(url[len("file://"):], "rb") as handle:
            return handle.read()
    response = httpx.get(url, timeout=5.0)
    response.raise_for_status()
    return response.content


def bearer(value: str | None) -> str:
    scheme, _, token = (value or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class GatekeeperMiddleware:
    """ASGI middleware: `scope["gatekeeper.identity"]` is the verified Identity (or None when not required)."""

    def __init__(self, app: Any, *, jwks_url: str = "", verifier: IdentityVerifier | None = None,
                 required: bool = True, **options: Any) -> None:
        self.app, self.required = app, required
        self.verifier = verifier or IdentityVerifier(jwks_url, **options)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
        identity = None
        try:
            identity = await self.verifier.averify(bearer(header))
        except InvalidToken:
            if self.required:
                await _deny_asgi(scope, send)
                return
        scope[SCOPE_KEY] = identity
        await self.app(scope, receive, send)


async def _deny_asgi(scope: dict[str, Any], send: Any) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(_UNAUTHORIZED)).encode())]})
    await send({"type": "http.response.body", "body": _UNAUTHORIZED})


class GatekeeperWSGIMiddleware:
    """WSGI middleware: `environ["gatekeeper.identity"]` is the verified Identity (or None when not required)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, jwks_url: str = "",
                 verifier: IdentityVerifier | None = None, required: bool = True, **options: Any) -> None:
        self.app, self.required = app, required
        self.verifier = verifier or IdentityVerifier(jwks_url, **options)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        identity = None
        try:
            identity = self.verifier.verify(bearer(environ.get("HTTP_AUTHORIZATION")))
        except InvalidToken:
            if self.required:
                start_response("401 Unauthorized", [("Content-Type", "application/json"),
                                                    ("Content-Length", str(len(_UNAUTHORIZED)))])
                return [_UNAUTHORIZED]
        environ[SCOPE_KEY] = identity
        return self.app(environ, start_response)
