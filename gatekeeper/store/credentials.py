"""Changing an identity after creation: traits with their addresses and identifiers, credentials, session AAL.

Used by the settings flow and second-factor logins. Credentials of a type are replaced as a whole (delete
then insert in one transaction); a compare-and-set on the stored config guards single-use secrets (a TOTP
time step, a lookup code) against two requests racing with the same code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gatekeeper.store import jsoncol
from gatekeeper.store.db import Database
from gatekeeper.store.identities import AddressRecord, CredentialRecord, IdentityRecord, insert_credential


class CredentialPersister:
    db: Database

    async def update_traits(self, ident: IdentityRecord, traits: dict[str, Any], identifiers: list[str],
                            addresses: list[AddressRecord], now: datetime) -> None:
        """Store `traits` for `ident` with the password credential's identifiers and the addresses
        (UniqueViolation when an identifier or address belongs to someone else)."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE identities SET traits = $1, updated_at = $2 WHERE id = $3",
                             jsoncol.dump(traits), now, ident.id)
            cred = ident.credentials.get("password")
            if cred is not None:
                await tx.execute("DELETE FROM identity_credential_identifiers WHERE credential_id = $1", cred.id)
                for identifier in identifiers:
                    await tx.execute(
                        """INSERT INTO identity_credential_identifiers (type, identifier, credential_id, identity_id)
                           VALUES ($1, $2, $3, $4)""", "password", identifier, cred.id, ident.id)
            await tx.execute("DELETE FROM identity_addresses WHERE identity_id = $1", ident.id)
            for a in addresses:
                await tx.execute(
                    """INSERT INTO identity_addresses (id, identity_id, kind, via, value, verified, status,
                       verified_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                    a.id, ident.id, a.kind, a.via, a.value, a.verified, a.status, a.verified_at, a.created_at,
                    a.updated_at)

    async def credentials_of_type(self, cred_type: str, after: str, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """(identity id, config) of every `cred_type` credential, by identity id after `after` (a page)."""
        rows = await self.db.fetch_all(
            """SELECT identity_id, config FROM identity_credentials WHERE type = $1 AND identity_id > $2
               ORDER BY identity_id LIMIT $3""", cred_type, after, limit)
        return [(str(r["identity_id"]), jsoncol.load(r["config"])) for r in rows]

    async def put_credential(self, identity_id: str, cred: CredentialRecord) -> None:
        """Insert or replace the identity's credential of `cred.type`."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM identity_credentials WHERE identity_id = $1 AND type = $2",
                             identity_id, cred.type)
            await insert_credential(tx, identity_id, cred)

    async def delete_credential(self, identity_id: str, cred_type: str) -> None:
        await self.db.execute("DELETE FROM identity_credentials WHERE identity_id = $1 AND type = $2",
                              identity_id, cred_type)

    async def swap_credential_config(self, identity_id: str, cred_type: str, old: dict[str, Any],
                                     new: dict[str, Any], now: datetime) -> bool:
        """Replace the config only if it is still `old`; False when another request changed it first."""
        row = await self.db.fetch_one(
            """UPDATE identity_credentials SET config = $1, updated_at = $2
               WHERE identity_id = $3 AND type = $4 AND config = $5 RETURNING id""",
            jsoncol.dump(new), now, identity_id, cred_type, jsoncol.dump(old))
        return row is not None

    async def update_session_authentication(self, session_id: str, aal: str, methods: list[dict[str, Any]],
                                            authenticated_at: datetime, now: datetime) -> None:
        """A step-up or refresh login on an existing session: new AAL, methods and authentication time."""
        await self.db.execute(
            """UPDATE sessions SET aal = $1, authentication_methods = $2, authenticated_at = $3, updated_at = $4
               WHERE id = $5""", aal, jsoncol.dump(methods), authenticated_at, now, session_id)
