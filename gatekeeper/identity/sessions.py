"""Sessions: issue, encode (token and cookie), look up, revoke; the cached SessionSource the proxy uses.

Tokens (`ory_st_` + 32 alphanumerics) are stored only as their SHA-256. The cookie carries the token
plus an HMAC with the first cookie secret (all secrets verify), so a forged cookie costs no database
round trip. Lookups are cached per process by token hash for `session.cache_ttl` with single-flight on
misses (identity/session_cache.py: bounded, least recently used first, compact); a revocation on this process
drops the entry at once, and every other replica drops it when the revocation event reaches it
(identity/revocation.py: LISTEN/NOTIFY on PostgreSQL, polling otherwise).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import string
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from gatekeeper.config import Config
from gatekeeper.identity.aal import available_aal
from gatekeeper.identity.client import ClientInfo
from gatekeeper.identity.identities import Identities, rfc3339
from gatekeeper.identity.session_cache import CachedSession, SessionCache
from gatekeeper.store import Store
from gatekeeper.store.identities import IdentityRecord
from gatekeeper.store.sessions import SessionRecord

_ALPHABET = string.ascii_letters + string.digits
_TOKEN = re.compile(r"^ory_st_[A-Za-z0-9]{32}$")
_CREDENTIALS = 4096  # credentials whose token and cache key are remembered


def new_token(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


KEY_BYTES = 16  # of a token's SHA-256: the session cache's key (collisions: 2^-128)


def _key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()[:KEY_BYTES]


class Sessions:
    """The session service and the proxy's SessionSource."""

    def __init__(self, config: Config, store: Store, identities: Identities,
                 registry: CollectorRegistry) -> None:
        """`registry`: where to count cache hits and misses (gatekeeper_session_cache_lookups_total)."""
        self.store, self.identities = store, identities
        self.lifespan = float(config.session.lifespan)
        self.ttl = float(config.session.cache_ttl)
        # highest_available: an aal1 session of an identity with a second factor is not enough (whoami's 403)
        self.highest_available = config.session.whoami.required_aal == "highest_available"
        self.code_mfa = config.selfservice.methods.code.mfa_enabled
        self._keys = [s.value.encode() for s in config.cookie_secrets]
        self._cache = SessionCache(config.session.cache_size)
        self._credentials: dict[str, tuple[str, bytes]] = {}  # credential -> (token, key); ("", b""): not one
        self._inflight: dict[bytes, asyncio.Future[CachedSession]] = {}
        lookups = Counter("gatekeeper_session_cache_lookups_total",
                          "Session lookups by the proxy and decisions: hit (in-process cache) or miss (store)",
                          ["result"], registry=registry)
        self._hit, self._miss = lookups.labels("hit"), lookups.labels("miss")

    # -- tokens and cookies --------------------------------------------------------------------------

    def cookie_value(self, token: str) -> str:
        mac = hmac.new(self._keys[0], token.encode(), hashlib.sha256).digest()
        return f"{token}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def token_from(self, credential: str | None) -> str | None:
        """The session token inside a cookie value or given as is; None when it cannot be one."""
        if not credential:
            return None
        if "." in credential:
            token, _, mac = credential.partition(".")
            for key in self._keys:
                expected = base64.urlsafe_b64encode(hmac.new(key, token.encode(), hashlib.sha256).digest())
                if hmac.compare_digest(expected.rstrip(b"="), mac.encode()):  # bytes: any client byte compares
                    return token if _TOKEN.match(token) else None
            return None
        return credential if _TOKEN.match(credential) else None

    # -- issue and look up ---------------------------------------------------------------------------

    async def issue(self, ident: IdentityRecord, method: str, client: ClientInfo) -> tuple[SessionRecord, str]:
        """A new aal1 session for `ident`; returns it and its token (shown once, stored hashed)."""
        now = datetime.now(UTC)
        token = new_token("ory_st_")
        rec = SessionRecord(
            id=str(uuid.uuid4()), identity_id=ident.id, token_hash=token_hash(token),
            logout_token_hash="", active=True, aal="aal1", issued_at=now,
            authenticated_at=now, expires_at=now + timedelta(seconds=self.lifespan), updated_at=now,
            authentication_methods=[{"method": method, "aal": "aal1", "completed_at": rfc3339(now)}],
            devices=[{"id": str(uuid.uuid4()), "ip_address": client.ip, "user_agent": client.user_agent[:512],
                      "location": ""}])
        rec.logout_token_hash = token_hash(self.logout_token(rec))
        await self.store.insert_session(rec)
        return rec, token

    async def current(self, credential: str | None) -> tuple[SessionRecord, IdentityRecord] | None:
        """The active session (and its identity) for a cookie value or token, from the store."""
        token = self.token_from(credential)
        if token is None:
            return None
        rec = await self.store.session_by_token_hash(token_hash(token))
        if rec is None or not rec.active or rec.expires_at <= datetime.now(UTC):
            return None
        ident = await self.store.identity(rec.identity_id)
        if ident is None or ident.state != "active":
            return None
        return rec, ident

    def logout_token(self, rec: SessionRecord) -> str:
        """The session's logout token (`ory_lo_` + 32 alphanumerics), derived with the first cookie secret so
        that only its hash is stored and every call returns the same URL, as Kratos does."""
        mac = hmac.new(self._keys[0], f"logout:{rec.id}".encode(), hashlib.sha256).digest()
        number = int.from_bytes(mac, "big")
        chars = []
        for _ in range(32):
            number, index = divmod(number, len(_ALPHABET))
            chars.append(_ALPHABET[index])
        return "ory_lo_" + "".join(chars)

    async def logout_token_for(self, rec: SessionRecord) -> str:
        """The logout token, re-bound when the signing secret rotated since the session began."""
        token = self.logout_token(rec)
        if not hmac.compare_digest(token_hash(token), rec.logout_token_hash):
            await self.store.set_logout_token_hash(rec.id, token_hash(token))
        return token

    async def by_logout_token(self, token: str) -> SessionRecord | None:
        if not token.startswith("ory_lo_") or len(token) > 64:
            return None
        rec = await self.store.session_by_logout_token_hash(token_hash(token))
        return rec if rec is not None and rec.active else None

    def to_json(self, rec: SessionRecord, ident: IdentityRecord) -> dict[str, Any]:
        active = rec.active and rec.expires_at > datetime.now(UTC) and ident.state == "active"
        return {
            "id": rec.id, "active": active, "expires_at": rfc3339(rec.expires_at),
            "authenticated_at": rfc3339(rec.authenticated_at), "authenticator_assurance_level": rec.aal,
            "authentication_methods": rec.authentication_methods, "issued_at": rfc3339(rec.issued_at),
            "identity": self.identities.to_json(ident), "devices": rec.devices,
        }

    # -- the cached SessionSource --------------------------------------------------------------------

    async def session_for_token(self, token: str) -> Mapping[str, Any] | None:
        """Kratos session JSON for an active session (cookie value or token), else None. Cached.

        Under `session.whoami.required_aal: highest_available` a session that still owes its second factor is
        None here (the proxy and decisions treat it as signed out, so a password alone never passes)."""
        known = self._credential(token)
        if known is None:
            return None
        raw, key = known
        entry = await self._lookup(raw, key)
        if not entry.active:
            return None
        if self.highest_available and entry.available_aal == "aal2" and entry.aal != "aal2":
            return None
        return self._cache.session(key, entry)

    async def cached(self, token: str | None) -> CachedSession | None:
        """The cache entry (the session's compressed JSON, its identity and AAL) for a credential; None when it
        cannot be one."""
        known = self._credential(token)
        return None if known is None else await self._lookup(*known)

    def _credential(self, credential: str | None) -> tuple[str, bytes] | None:
        """(token, cache key) of a cookie value or token; None when it cannot be one. Remembered for the most
        recently seen credentials: a warm request verifies no cookie signature and hashes nothing."""
        if not credential:
            return None
        known = self._credentials.get(credential)
        if known is None:
            raw = self.token_from(credential)
            known = (raw, _key(raw)) if raw is not None else ("", b"")
            if len(credential) <= 128:  # a cookie is 83 characters: nothing longer is worth remembering
                if len(self._credentials) >= _CREDENTIALS:
                    del self._credentials[next(iter(self._credentials))]
                self._credentials[credential] = known
        return known if known[0] else None

    async def _lookup(self, raw: str, key: bytes) -> CachedSession:
        now = time.monotonic()
        hit = self._cache.get(key, now)
        if hit is not None:
            self._hit.inc()
            return hit
        pending = self._inflight.get(key)
        if pending is not None:
            self._hit.inc()  # single-flight: answered by the lookup already running
            return await asyncio.shield(pending)
        self._miss.inc()
        future: asyncio.Future[CachedSession] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            session, available = await self._load(raw)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            self._inflight.pop(key, None)
        entry = CachedSession.pack(now + self.ttl, session, available)
        future.set_result(entry)
        self._cache.put(key, entry)
        return entry

    async def _load(self, raw: str) -> tuple[dict[str, Any] | None, str]:
        found = await self.current(raw)
        if found is None:
            return None, "aal1"
        rec, ident = found
        remaining = (rec.expires_at - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            return None, "aal1"
        return self.to_json(rec, ident), available_aal(ident, code_mfa=self.code_mfa)

    def forget(self, *hashes: str) -> None:
        """Drop cached lookups (after a logout or revocation here, or announced by another replica)."""
        for h in hashes:
            self._cache.forget(bytes.fromhex(h)[:KEY_BYTES])

    def forget_all(self) -> None:
        self._cache.clear()

    async def _revoked(self, *hashes: str) -> None:
        self.forget(*hashes)
        await self.store.publish_revoked(list(hashes))  # every replica drops them (identity/revocation.py)

    # -- revoke ----------------------------------------------------------------------------------------

    async def revoke(self, session_id: str, *, identity_id: str | None = None) -> bool:
        digest = await self.store.revoke_session(session_id, datetime.now(UTC), identity_id=identity_id)
        if digest is None:
            return False
        await self._revoked(digest)
        return True

    async def revoke_others(self, identity_id: str, keep_id: str) -> int:
        hashes = await self.store.revoke_other_sessions(identity_id, keep_id, datetime.now(UTC))
        await self._revoked(*hashes)
        return len(hashes)

    async def revoke_all(self, identity_id: str) -> int:
        """Revoke every session of an identity, on every replica: call it when an identity is deactivated, before
        it is deleted, and on a password change with revoke_active_sessions."""
        hashes = await self.store.revoke_other_sessions(identity_id, "", datetime.now(UTC))
        await self._revoked(*hashes)
        return len(hashes)

    async def reload_identity(self, identity_id: str) -> int:
        """After an identity's traits or metadata changed: every replica drops its cached lookups of the
        identity's active sessions (through the revocation broadcast, so within its bound) and reads them again;
        the sessions stay valid. Returns how many."""
        now = datetime.now(UTC)
        hashes = [s.token_hash for s in await self.store.sessions_of_identity(identity_id)
                  if s.active and s.expires_at > now]
        if hashes:
            await self._revoked(*hashes)
        return len(hashes)

    async def others(self, identity_id: str, current_id: str) -> list[SessionRecord]:
        now = datetime.now(UTC)
        return [s for s in await self.store.sessions_of_identity(identity_id)
                if s.id != current_id and s.active and s.expires_at > now]
