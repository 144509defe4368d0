"""The per-process cache of session lookups, bounded and compact: at most `session.cache_size` entries, the least
recently used going first (no cliff where the whole cache empties at once); each session's JSON deflated against a
preset dictionary of what every session contains (about 150 bytes per session instead of kilobytes of Python
objects), with the few hundred most recently used sessions also kept parsed for the proxy."""

from __future__ import annotations

import json
import struct
import time
import zlib
from datetime import datetime
from typing import Any

PARSED = 512  # sessions kept parsed besides their compressed JSON (the proxy's hot set)

_ID = "00000000-0000-4000-8000-000000000000"
_TIME = "2026-01-01T00:00:00.000000Z"
_ADDRESS = {"id": _ID, "value": "user@example.com", "verified": False, "via": "email", "status": "pending",
            "verified_at": _TIME, "created_at": _TIME, "updated_at": _TIME}
# What every session JSON shares (keys, shapes, common values): deflate finds it in this dictionary instead of
# repeating it in each entry. Any session compresses against it; one shaped like it compresses best.
PRESET = json.dumps({
    "id": _ID, "active": True, "expires_at": _TIME, "authenticated_at": _TIME, "authenticator_assurance_level": "aal1",
    "authentication_methods": [{"method": "password", "aal": "aal1", "completed_at": _TIME},
                               {"method": "totp", "aal": "aal2", "completed_at": _TIME}],
    "issued_at": _TIME,
    "identity": {"id": _ID, "schema_id": "default", "schema_url": "http://127.0.0.1:4433/schemas/ZGVmYXVsdA",
                 "state": "active", "state_changed_at": _TIME,
                 "traits": {"email": "user@example.com", "name": {"first": "", "last": ""}, "username": ""},
                 "verifiable_addresses": [_ADDRESS], "recovery_addresses": [_ADDRESS], "metadata_public": None,
                 "metadata_admin": None, "created_at": _TIME, "updated_at": _TIME, "organization_id": None},
    "devices": [{"id": _ID, "ip_address": "127.0.0.1", "user_agent": "Mozilla/5.0", "location": ""}],
}, separators=(",", ":")).encode()


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, PRESET)
    return packer.compress(data) + packer.flush()


def inflate(data: bytes) -> bytes:
    return zlib.decompressobj(-15, PRESET).decompress(data)


_HEAD = struct.Struct("<dBBB")  # until (monotonic), aal, available aal, length of the identity id (0: no session)
_AALS = ("", "aal1", "aal2", "aal3")


class CachedSession:
    """One cached lookup, packed into one bytes object (what a hundred thousand of them cost is the point): when
    it stops being fresh, the session's AAL and the highest its identity could reach, the identity id, and the
    session JSON deflated. No identity id: no active session."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    @classmethod
    def pack(cls, until: float, session: dict[str, Any] | None, available_aal: str = "aal1") -> CachedSession:
        if session is None:
            return cls(_HEAD.pack(until, 0, _AALS.index(available_aal), 0))
        identity_id = session["identity"]["id"].encode()
        # never serve a session from the cache past its end
        expires = datetime.fromisoformat(session["expires_at"].replace("Z", "+00:00")).timestamp()
        until = min(until, time.monotonic() + expires - time.time())
        head = _HEAD.pack(until, _AALS.index(session["authenticator_assurance_level"]),
                          _AALS.index(available_aal), len(identity_id))
        return cls(head + identity_id + deflate(json.dumps(session, separators=(",", ":")).encode()))

    @property
    def until(self) -> float:
        return float(_HEAD.unpack_from(self.data)[0])

    @property
    def active(self) -> bool:
        return self.data[_HEAD.size - 1] != 0

    @property
    def aal(self) -> str:
        return _AALS[self.data[_HEAD.size - 3]]

    @property
    def available_aal(self) -> str:
        """What the identity could reach (aal2: it has a second factor)."""
        return _AALS[self.data[_HEAD.size - 2]]

    @property
    def identity_id(self) -> str:
        return self.data[_HEAD.size:_HEAD.size + self.data[_HEAD.size - 1]].decode()

    @property
    def body(self) -> bytes:
        """The session JSON as whoami sends it (b"" when there is no active session)."""
        if not self.active:
            return b""
        return inflate(self.data[_HEAD.size + self.data[_HEAD.size - 1]:])


class SessionCache:
    """Entries by the SHA-256 of their token (bytes), least recently used first."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[bytes, bytes] = {}  # CachedSession data
        self._parsed: dict[bytes, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes, now: float) -> CachedSession | None:
        """The entry while it is fresh (it becomes the most recently used)."""
        data = self._entries.pop(key, None)
        if data is None:
            return None
        if _HEAD.unpack_from(data)[0] <= now:
            self._parsed.pop(key, None)
            return None
        self._entries[key] = data
        return CachedSession(data)

    def put(self, key: bytes, entry: CachedSession) -> None:
        entries = self._entries
        entries.pop(key, None)
        self._parsed.pop(key, None)
        entries[key] = entry.data
        while len(entries) > self.max_entries:
            oldest = next(iter(entries))
            del entries[oldest]
            self._parsed.pop(oldest, None)

    def session(self, key: bytes, entry: CachedSession) -> dict[str, Any] | None:
        """The entry's session, parsed (kept for the most recently used few)."""
        if not entry.active:
            return None
        parsed = self._parsed.pop(key, None)
        if parsed is None:
            parsed = json.loads(entry.body)
            if len(self._parsed) >= PARSED:
                del self._parsed[next(iter(self._parsed))]
        self._parsed[key] = parsed
        return parsed

    def forget(self, key: bytes) -> None:
        self._entries.pop(key, None)
        self._parsed.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
        self._parsed.clear()
