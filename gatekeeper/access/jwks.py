"""JSON Web Key Sets from `file://`, `http(s)://` and `base64://` URLs, cached with a TTL and refreshed
on an unknown `kid` (at most once per `min_refresh` seconds per URL, so a flood of bad kids cannot
hammer the key server). A set that cannot be fetched fails closed: the caller denies.
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

log = logging.getLogger("gatekeeper.access.jwks")


LOCAL_TTL = 1.0  # seconds a file:// (or inline) key set is used before it is read again
_LOCAL = ("file:", "/", "base64:", "inline:")


class JwksError(Exception):
    """A key set that could not be read or parsed."""


@dataclass
class _Entry:
    keys: dict[str, jwt.PyJWK]
    raw: list[dict[str, Any]]
    fetched: float
    last_refresh: float = field(default=0.0)


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
                    raise JwksError(f"{url} answered {response.status_code}")
                data = response.content
            doc = json.loads(data)
            raw = [k for k in doc.get("keys", []) if isinstance(k, dict)]
        except (OSError, ValueError, httpx.HTTPError, AttributeError) as exc:
            raise JwksError(f"cannot read key set {url}: {type(exc).__name__}") from None
        keys: dict[str, jwt.PyJWK] = {}
        for item in raw:
            try:
                keys[str(item.get("kid", ""))] = jwt.PyJWK(item)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                log.warning("skipping unusable key in key set", extra={"url": url, "kid": item.get("kid")})
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
