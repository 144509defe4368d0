"""Verifiable and recovery addresses by value: who owns an address, marking one verified."""

from __future__ import annotations

from datetime import datetime

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

    async def reset_address_verification(self, address_id: str, now: datetime) -> None:
        """A changed address is pending again (the settings flow sends a new code)."""
        await self.db.execute(
            """UPDATE identity_addresses SET verified = $1, status = 'pending', verified_at = NULL, updated_at = $2
               WHERE id = $3""", False, now, address_id)
