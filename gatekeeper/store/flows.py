"""Self-service flows (login, registration, and later settings/recovery/verification) and flow errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gatekeeper.store.db import Database


@dataclass
class FlowRecord:
    """A persisted flow: its public JSON `body` and the `internal` context clients never see."""

    id: str
    kind: str
    type: str
    state: str | None
    csrf_hash: str
    issued_at: datetime
    expires_at: datetime
    updated_at: datetime
    body: dict[str, Any] = field(default_factory=dict)
    internal: dict[str, Any] = field(default_factory=dict)


class FlowPersister:
    db: Database

    async def insert_flow(self, f: FlowRecord) -> None:
        await self.db.execute(
            """INSERT INTO selfservice_flows (id, kind, type, state, body, internal, csrf_hash, issued_at,
               expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            f.id, f.kind, f.type, f.state, json.dumps(f.body), json.dumps(f.internal), f.csrf_hash,
            f.issued_at, f.expires_at, f.updated_at)

    async def update_flow(self, f: FlowRecord) -> None:
        await self.db.execute(
            """UPDATE selfservice_flows SET state = $2, body = $3, internal = $4, updated_at = $5
               WHERE id = $1""", f.id, f.state, json.dumps(f.body), json.dumps(f.internal), f.updated_at)

    async def update_flow_csrf(self, flow_id: str, csrf_hash: str) -> None:
        """Bind a flow to another CSRF cookie (a flow created for a browser by a hook, or opened from an e-mail)."""
        await self.db.execute("UPDATE selfservice_flows SET csrf_hash = $2 WHERE id = $1", flow_id, csrf_hash)

    async def flow(self, kind: str, flow_id: str) -> FlowRecord | None:
        row = await self.db.fetch_one("SELECT * FROM selfservice_flows WHERE id = $1 AND kind = $2", flow_id, kind)
        if row is None:
            return None
        return FlowRecord(id=row["id"], kind=row["kind"], type=row["type"], state=row["state"],
                          csrf_hash=row["csrf_hash"], issued_at=row["issued_at"], expires_at=row["expires_at"],
                          updated_at=row["updated_at"], body=json.loads(row["body"]),
                          internal=json.loads(row["internal"]))

    async def delete_expired_flows(self, before: datetime) -> int:
        """Delete flows that expired before `before`, and flow errors created before it."""
        deleted = await self.db.execute("DELETE FROM selfservice_flows WHERE expires_at < $1", before)
        await self.db.execute("DELETE FROM selfservice_errors WHERE created_at < $1", before)
        return deleted

    async def insert_flow_error(self, error_id: str, error: dict[str, Any], now: datetime) -> None:
        await self.db.execute("INSERT INTO selfservice_errors (id, error, created_at) VALUES ($1, $2, $3)",
                              error_id, json.dumps(error), now)

    async def flow_error(self, error_id: str) -> tuple[dict[str, Any], datetime] | None:
        row = await self.db.fetch_one("SELECT error, created_at FROM selfservice_errors WHERE id = $1", error_id)
        return None if row is None else (json.loads(row["error"]), row["created_at"])
