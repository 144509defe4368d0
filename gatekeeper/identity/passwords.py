"""Passwords: hashing (argon2id, bcrypt) in a bounded thread pool, Kratos' policy and the HIBP check.

Hashing never runs on the event loop: `Hasher` owns a CapacityLimiter sized by `hashers.threads`
(default: CPUs - 1, so one core keeps answering proxy traffic during a login storm).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import anyio
import argon2
import bcrypt
import httpx
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gatekeeper.config.identity import Hashers, PasswordConfig
from gatekeeper.identity import hashformats, text

log = logging.getLogger("gatekeeper.identity.passwords")

_SIZE = re.compile(r"^\s*(\d+)\s*([KMG]?i?B?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "KB": 1024, "KIB": 1024, "MB": 1024**2, "MIB": 1024**2, "GB": 1024**3, "GIB": 1024**3}
BCRYPT_MAX_BYTES = 72


def byte_size(value: str) -> int:
    """`128MB` -> bytes (Kratos' bytesize, 1024-based)."""
    match = _SIZE.match(value)
    if not match or match.group(2).upper() not in _UNITS:
        raise ValueError(f"expected a size such as 64MB, got {value!r}")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


class Hasher:
    """Hash and verify passwords with the configured algorithm; verify any supported stored format."""

    def __init__(self, cfg: Hashers, *, dev: bool, observe: Callable[[str, float], None] | None = None) -> None:
        """`observe(operation, seconds)`: told how long each hash or verify took, waiting for the pool included."""
        self.algorithm = cfg.algorithm
        threads = cfg.threads or max(1, (os.cpu_count() or 2) - 1)
        self.limiter = anyio.CapacityLimiter(threads)
        cost = cfg.bcrypt.cost
        self.bcrypt_cost = max(cost, 4) if dev else max(cost, 12)
        a = cfg.argon2
        self.argon2 = argon2.PasswordHasher(
            time_cost=a.iterations, memory_cost=byte_size(a.memory) // 1024,
            parallelism=a.parallelism or 2 * (os.cpu_count() or 1), hash_len=a.key_length, salt_len=a.salt_length,
            type=argon2.Type.ID)
        self._dummy: str | None = None
        self.observe = observe

    @property
    def max_password_bytes(self) -> int | None:
        return BCRYPT_MAX_BYTES if self.algorithm == "bcrypt" else None

    async def hash(self, password: str) -> str:
        start = time.perf_counter()
        try:
            return await anyio.to_thread.run_sync(self._hash, password, limiter=self.limiter)
        finally:
            if self.observe:
                self.observe("hash", time.perf_counter() - start)

    async def verify(self, stored: str, password: str) -> bool:
        start = time.perf_counter()
        try:
            return await anyio.to_thread.run_sync(self._verify, stored, password, limiter=self.limiter)
        finally:
            if self.observe:
                self.observe("verify", time.perf_counter() - start)

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification (unknown identifier): no user enumeration by timing."""
        if self._dummy is None:
            self._dummy = await self.hash("gatekeeper-dummy-password-never-matches")
        await self.verify(self._dummy, password)

    def needs_rehash(self, stored: str) -> bool:
        if self.algorithm == "bcrypt":
            if not stored.startswith("$2"):
                return True
            try:
                return int(stored.split("$")[2]) != self.bcrypt_cost
            except (IndexError, ValueError):
                return True
        if not stored.startswith("$argon2id$"):
            return True
        try:
            return self.argon2.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def _hash(self, password: str) -> str:
        if self.algorithm == "bcrypt":
            return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.bcrypt_cost)).decode()
        return self.argon2.hash(password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            if stored.startswith(("$2a$", "$2b$", "$2y$", "$2$", "$2z$")):
                fixed = "$2b$" + stored.split("$", 2)[2] if stored.startswith(("$2y$", "$2z$", "$2$")) else stored
                encoded = password.encode()
                return len(encoded) <= BCRYPT_MAX_BYTES and bcrypt.checkpw(encoded, fixed.encode())
            if stored.startswith(("$argon2id$", "$argon2i$")):
                return self.argon2.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError):
            return False
        try:  # imported formats (pbkdf2, scrypt, md5-crypt, ...): identity/hashformats.py
            return hashformats.parse(stored).check(password.encode())
        except ValueError:
            log.warning("stored password hash has an unsupported format")
            return False


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _longest_common_substring(a: str, b: str) -> int:
    best, prev = 0, [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def too_similar(identifier: str, password: str) -> bool:
    """Kratos' check: Levenshtein distance < 5, or the common substring covers over half the password."""
    ident, pw = identifier.lower(), password.lower()
    if not ident or not pw:
        return False
    return _levenshtein(ident, pw) < 5 or _longest_common_substring(ident, pw) / len(pw) > 0.5


class BreachedPasswords:
    """HaveIBeenPwned range API (k-anonymity: only 5 hex chars of the SHA-1 leave), cached for an hour."""

    TTL = 3600.0

    def __init__(self, cfg: PasswordConfig, http: httpx.AsyncClient) -> None:
        host = cfg.haveibeenpwned_host.rstrip("/")
        self.base = host if host.startswith(("http://", "https://")) else f"https://{host}"
        self.http = http
        self._cache: dict[str, tuple[float, dict[str, int]]] = {}

    async def count(self, password: str) -> int:
        """How often the password appears in breaches; raises httpx.HTTPError when the API cannot tell."""
        digest = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()
        prefix, suffix = digest[:5], digest[5:]
        cached = self._cache.get(prefix)
        if cached is None or cached[0] < time.monotonic():
            resp = await self.http.get(f"{self.base}/range/{prefix}", headers={"Add-Padding": "true"},
                                       timeout=httpx.Timeout(2.0, connect=1.0))
            resp.raise_for_status()
            counts = {}
            for line in resp.text.splitlines():
                hash_suffix, _, n = line.strip().partition(":")
                if n.strip().isdigit():
                    counts[hash_suffix.upper()] = int(n)
            if len(self._cache) > 10_000:
                self._cache.clear()
            cached = (time.monotonic() + self.TTL, counts)
            self._cache[prefix] = cached
        return cached[1].get(suffix, 0)


class PasswordPolicy:
    """Kratos' password validator: length, identifier similarity, breaches."""

    def __init__(self, cfg: PasswordConfig, hasher: Hasher, breaches: BreachedPasswords) -> None:
        self.cfg, self.hasher, self.breaches = cfg, hasher, breaches

    async def problems(self, password: str, identifiers: list[str]) -> list[dict[str, Any]]:
        """uiText errors for the `password` node; empty when the password may be used."""
        size = len(password.encode())
        if size < self.cfg.min_password_length:
            return [text.password_too_short(self.cfg.min_password_length, size)]
        limit = self.hasher.max_password_bytes
        if limit is not None and size > limit:
            return [text.password_too_long(limit, size)]
        if self.cfg.identifier_similarity_check_enabled and any(too_similar(i, password) for i in identifiers):
            return [text.password_similar()]
        if self.cfg.haveibeenpwned_enabled:
            try:
                count = await self.breaches.count(password)
            except httpx.HTTPError as exc:
                if not self.cfg.ignore_network_errors:
                    log.warning("breached-password check failed", extra={"error": type(exc).__name__})
                    return [text.password_policy("the breached-password check is unavailable, try again later")]
                count = 0
            if count > self.cfg.max_breaches:
                return [text.password_breached(count)]
        return []
