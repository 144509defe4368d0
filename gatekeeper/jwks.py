"""JSON Web Key Sets from `file://`, `http(s)://` and `base64://` URLs, cached with a TTL and refreshed
on an unknown `kid` (at most once per `min_refresh` seconds per URL, so a flood of bad kids cannot
hammer the key server). A set that cannot be fetched fails closed: the caller denies.

Shared by both domains (access: the `jwt` authenticator, the `id_token` mutator; identity: the session
tokenizer), so it imports nothing of gatekeeper. Signing takes the FIRST private key of a set: rotating is
putting a new key first (docs/operations.md); a `file://` set is re-read every second.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

log = logging.getLogger("gatekeeper.jwks")


LOCAL_TTL = 1.0  # seconds a file:// (or inline) key set is used before it is read again
_LOCAL = ("file:", "/", "base64:", "inline:")


_PRIVATE = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class JwksError(Exception):
    """A key set that could not be read or parsed."""


class JwksUnparsable(JwksError):
    """A key set that was read but is not a JSON Web Key Set."""


class NoSigningKey(JwksError):
    """A key set without a private key to sign with."""


@dataclass(frozen=True)
class SigningKey:
    """A private key of a set, its `kid` and `alg` (inferred from the key type when the set declares none)."""

    key: Any
    kid: str
    alg: str
    alg_declared: bool


@dataclass
class _Entry:
    keys: dict[str, jwt.PyJWK]
    raw: list[dict[str, Any]]
    fetched: float
    last_refresh: float = field(default=0.0)


def shown(url: str) -> str:
    """`url` fit for a log line or an error: a `base64://` or `inline://` set is its own (private) content."""
    return url.split("://", 1)[0] + "://[redacted]" if url.startswith(("base64:", "inline:")) else url


def read_local(url: str) -> bytes | None:
    """The bytes of a `file://`, plain path or `base64://` / `inline://` URL; None for remote URLs."""
    parts = urlsplit(url)
    if parts.scheme in ("base64", "inline"):
        return base64.b64decode(url.split("://", 1)[1])
    if parts.scheme in ("", "file"):
        path = unquote(parts.netloc + parts.path) if parts.scheme == "file" else url
        return Path(path).read_bytes()
    return None


class JwksCache:
    """Keys by URL; `key(url, kid)` returns the key or None; raises JwksError when the set is unreachable."""

    def __init__(self, http: httpx.AsyncClient, ttl: float = 30.0, min_refresh: float = 1.0) -> None:
        self.http, self.ttl, self.min_refresh = http, ttl, min_refresh
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _fetch(self, url: str) -> _Entry:
        try:
            data = read_local(url)
            if data is None:
                response = await self.http.get(url, timeout=5.0)
                if response.status_code != 200:
                    raise JwksError(f"{shown(url)} answered {response.status_code}")
                data = response.content
        except (OSError, ValueError, httpx.HTTPError) as exc:
            raise JwksError(f"cannot read key set {shown(url)}: {type(exc).__name__}") from None
        try:
            doc = json.loads(data)
            raw = [k for k in doc.get("keys", []) if isinstance(k, dict)]
        except (ValueError, AttributeError) as exc:
            raise JwksUnparsable(f"cannot parse key set {shown(url)}: {type(exc).__name__}") from None
        keys: dict[str, jwt.PyJWK] = {}
        for item in raw:
            try:
                keys[str(item.get("kid", ""))] = jwt.PyJWK(item)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                log.warning("skipping unusable key in key set", extra={"url": shown(url), "kid": item.get("kid")})
        return _Entry(keys, raw, time.monotonic())

    async def entry(self, url: str, *, refresh: bool = False, ttl: float | None = None) -> _Entry:
        now = time.monotonic()
        entry = self._entries.get(url)
        limit = self.ttl if ttl is None else ttl
        if url.startswith(_LOCAL):  # a mounted file (a Kubernetes Secret) changes in place: follow it closely
            limit = min(limit, LOCAL_TTL)
        if entry and not refresh and now - entry.fetched < limit:
            return entry
        if entry and refresh and now - entry.last_refresh < self.min_refresh:
            return entry
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:
            current = self._entries.get(url)
            if current is not entry and current is not None:
                return current
            try:
                fresh = await self._fetch(url)
            except JwksError:
                if entry and not refresh:  # keep serving the stale set for a short outage? no: fail closed
                    self._entries.pop(url, None)
                raise
            fresh.last_refresh = time.monotonic() if refresh else 0.0
            self._entries[url] = fresh
            return fresh

    async def key(self, urls: tuple[str, ...], kid: str, *, ttl: float | None = None) -> jwt.PyJWK | None:
        """The key with `kid` from any of `urls`, refreshing once when it is unknown."""
        errors = []
        for refresh in (False, True):
            for url in urls:
                try:
                    entry = await self.entry(url, refresh=refresh, ttl=ttl)
                except JwksError as exc:
                    errors.append(str(exc))
                    continue
                if kid in entry.keys:
                    return entry.keys[kid]
        if errors and len(errors) == 2 * len(urls):
            raise JwksError("; ".join(dict.fromkeys(errors)))
        return None


async def signing_key(cache: JwksCache, url: str) -> SigningKey:
    """The first signing-capable (private) key of the set at `url`, read through `cache`."""
    entry = await cache.entry(url)
    for kid, jwk in entry.keys.items():
        if isinstance(jwk.key, _PRIVATE):
            declared = any(str(raw.get("kid", "")) == kid and raw.get("alg") for raw in entry.raw)
            alg = jwk.algorithm_name or ("RS256" if isinstance(jwk.key, rsa.RSAPrivateKey) else "ES256")
            return SigningKey(jwk.key, kid, alg, declared)
    raise NoSigningKey(f"{shown(url)} holds no private signing key")


def public_jwks(raw_keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The public members of a private JWKS (never `d`, `p`, `q`, `dp`, `dq`, `qi`, `k`)."""
    return [{k: v for k, v in key.items() if k not in _PRIVATE_MEMBERS} for key in raw_keys
            if key.get("kty") != "oct"]
