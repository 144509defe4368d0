"""Verifiable and recovery addresses by value (who owns one, marking it verified); identity metadata set by hooks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gatekeeper.store.db import Database


class AddressPersister:
    db: Database

    async def address_owner(self, kind: str, via: str, value: str) -> tuple[str, str] | None:
        """(identity_id, address_id) of the `kind` address `value` (already normalised), or None."""
        row = await self.db.fetch_one(
            "SELECT identity_id, id FROM identity_addresses WHERE kind = $1 AND via = $2 AND value = $3",
            kind, via, value)
        return None if row is None else (row["identity_id"], row["id"])

    async def mark_address_verified(self, address_id: str, now: datetime) -> None:
        await self.db.execute(
            """UPDATE identity_addresses SET verified = $1, status = 'completed', verified_at = $2, updated_at = $2
               WHERE id = $3""", True, now, address_id)

    async def update_identity_metadata(self, identity_id: str, metadata_public: Any, metadata_admin: Any,
                                       now: datetime) -> None:
        """Replace both metadata documents (a web hook with `response.parse` answered new ones)."""
        await self.db.execute(
            "UPDATE identities SET metadata_public = $1, metadata_admin = $2, updated_at = $3 WHERE id = $4",
            None if metadata_public is None else json.dumps(metadata_public, separators=(",", ":")),
            None if metadata_admin is None else json.dumps(metadata_admin, separators=(",", ":")), now, identity_id)
