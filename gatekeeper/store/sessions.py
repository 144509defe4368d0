"""Sessions: looked up by the SHA-256 of their token (the token itself is never stored)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gatekeeper.store.db import Database, Row


@dataclass
class SessionRecord:
    id: str
    identity_id: str
    token_hash: str
    logout_token_hash: str
    active: bool
    aal: str
    issued_at: datetime
    authenticated_at: datetime
    expires_at: datetime
    updated_at: datetime
    authentication_methods: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)


def session_record(row: Row) -> SessionRecord:
    return SessionRecord(
        id=row["id"], identity_id=row["identity_id"], token_hash=row["token_hash"],
        logout_token_hash=row["logout_token_hash"], active=bool(row["active"]), aal=row["aal"],
        authentication_methods=json.loads(row["authentication_methods"]), devices=json.loads(row["devices"]),
        issued_at=row["issued_at"], authenticated_at=row["authenticated_at"], expires_at=row["expires_at"],
        updated_at=row["updated_at"])


class SessionPersister:
    db: Database

    async def insert_session(self, s: SessionRecord) -> None:
        await self.db.execute(
            """INSERT INTO sessions (id, identity_id, token_hash, logout_token_hash, active, aal,
               authentication_methods, devices, issued_at, authenticated_at, expires_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            s.id, s.identity_id, s.token_hash, s.logout_token_hash, s.active, s.aal,
            json.dumps(s.authentication_methods), json.dumps(s.devices), s.issued_at, s.authenticated_at,
            s.expires_at, s.updated_at)

    async def session_by_token_hash(self, digest: str) -> SessionRecord | None:
        row = await self.db.fetch_one("SELECT * FROM sessions WHERE token_hash = $1", digest)
        return None if row is None else session_record(row)

    async def session_by_logout_token_hash(self, digest: str) -> SessionRecord | None:
        row = await self.db.fetch_one("SELECT * FROM sessions WHERE logout_token_hash = $1", digest)
        return None if row is None else session_record(row)

    async def set_logout_token_hash(self, session_id: str, digest: str) -> None:
        await self.db.execute("UPDATE sessions SET logout_token_hash = $1 WHERE id = $2", digest, session_id)

    async def sessions_of_identity(self, identity_id: str) -> list[SessionRecord]:
        rows = await self.db.fetch_all(
            "SELECT * FROM sessions WHERE identity_id = $1 ORDER BY issued_at DESC, id", identity_id)
        return [session_record(r) for r in rows]

    async def revoke_session(self, session_id: str, now: datetime, *, identity_id: str | None = None) -> str | None:
        """Deactivate one session (of `identity_id` when given); returns its token hash, None if not found."""
        if identity_id is None:
            row = await self.db.fetch_one(
                "UPDATE sessions SET active = FALSE, updated_at = $2 WHERE id = $1 RETURNING token_hash",
                session_id, now)
        else:
            row = await self.db.fetch_one(
                """UPDATE sessions SET active = FALSE, updated_at = $2
                   WHERE id = $1 AND identity_id = $3 RETURNING token_hash""", session_id, now, identity_id)
        return None if row is None else row["token_hash"]

    async def revoke_other_sessions(self, identity_id: str, keep_id: str, now: datetime) -> list[str]:
        """Deactivate every active session of an identity except `keep_id`; returns their token hashes."""
        rows = await self.db.fetch_all(
            """UPDATE sessions SET active = FALSE, updated_at = $3
               WHERE identity_id = $1 AND id <> $2 AND active = TRUE RETURNING token_hash""",
            identity_id, keep_id, now)
        return [r["token_hash"] for r in rows]

    async def delete_stale_sessions(self, expired_before: datetime, revoked_before: datetime, limit: int) -> int:
        """Delete up to `limit` sessions that expired before `expired_before` or were revoked (last changed)
        before `revoked_before`, oldest expiry first (one bounded statement)."""
        return await self.db.execute(
            """DELETE FROM sessions WHERE id IN
               (SELECT id FROM sessions WHERE expires_at < $1 OR (active = FALSE AND updated_at < $2)
                ORDER BY expires_at LIMIT $3)""", expired_before, revoked_before, limit)
