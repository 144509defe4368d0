"""Identities with their credentials (and unique credential identifiers) and addresses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gatekeeper.store import jsoncol
from gatekeeper.store.db import Database, Row


@dataclass
class AddressRecord:
    """A verifiable (`kind="verifiable"`) or recovery (`kind="recovery"`) address."""

    id: str
    kind: str
    via: str
    value: str
    created_at: datetime
    updated_at: datetime
    verified: bool = False
    status: str = "pending"
    verified_at: datetime | None = None


@dataclass
class CredentialRecord:
    id: str
    type: str
    identifiers: list[str]
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int = 0


@dataclass
class IdentityRecord:
    id: str
    schema_id: str
    state: str
    traits: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    metadata_public: Any = None
    metadata_admin: Any = None
    external_id: str | None = None
    state_changed_at: datetime | None = None
    credentials: dict[str, CredentialRecord] = field(default_factory=dict)
    addresses: list[AddressRecord] = field(default_factory=list)



class IdentityPersister:
    db: Database

    async def insert_identity(self, ident: IdentityRecord) -> None:
        """Insert an identity with its credentials and addresses; UniqueViolation on a taken identifier."""
        async with self.db.transaction() as tx:
            await tx.execute(
                """INSERT INTO identities (id, schema_id, state, traits, metadata_public, metadata_admin,
                   external_id, state_changed_at, created_at, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                ident.id, ident.schema_id, ident.state, jsoncol.dump(ident.traits), jsoncol.dump(ident.metadata_public),
                jsoncol.dump(ident.metadata_admin), ident.external_id, ident.state_changed_at, ident.created_at,
                ident.updated_at)
            for cred in ident.credentials.values():
                await insert_credential(tx, ident.id, cred)
            for addr in ident.addresses:
                await insert_address(tx, ident.id, addr)

    async def identity(self, identity_id: str) -> IdentityRecord | None:
        row = await self.db.fetch_one("SELECT * FROM identities WHERE id = $1", identity_id)
        return None if row is None else await self._complete(row)

    async def identity_by_identifier(self, cred_type: str, identifier: str) -> IdentityRecord | None:
        """The identity owning credential identifier `identifier` (already normalised) of `cred_type`."""
        row = await self.db.fetch_one(
            """SELECT i.* FROM identities i JOIN identity_credential_identifiers c ON c.identity_id = i.id
               WHERE c.type = $1 AND c.identifier = $2""", cred_type, identifier)
        return None if row is None else await self._complete(row)

    async def update_credential_config(self, identity_id: str, cred_type: str, config: dict[str, Any],
                                       now: datetime) -> None:
        await self.db.execute(
            "UPDATE identity_credentials SET config = $1, updated_at = $2 WHERE identity_id = $3 AND type = $4",
            jsoncol.dump(config), now, identity_id, cred_type)

    async def _complete(self, row: Row) -> IdentityRecord:
        ident = IdentityRecord(
            id=row["id"], schema_id=row["schema_id"], state=row["state"], traits=jsoncol.load(row["traits"]),
            metadata_public=jsoncol.load(row["metadata_public"]), metadata_admin=jsoncol.load(row["metadata_admin"]),
            external_id=row["external_id"], state_changed_at=row["state_changed_at"],
            created_at=row["created_at"], updated_at=row["updated_at"])
        creds = await self.db.fetch_all(
            "SELECT * FROM identity_credentials WHERE identity_id = $1 ORDER BY created_at, type", ident.id)
        idents = await self.db.fetch_all(
            "SELECT credential_id, identifier FROM identity_credential_identifiers WHERE identity_id = $1 "
            "ORDER BY identifier", ident.id)
        for c in creds:
            ident.credentials[c["type"]] = CredentialRecord(
                id=c["id"], type=c["type"], config=jsoncol.load(c["config"]), version=c["version"],
                identifiers=[i["identifier"] for i in idents if i["credential_id"] == c["id"]],
                created_at=c["created_at"], updated_at=c["updated_at"])
        rows = await self.db.fetch_all(
            "SELECT * FROM identity_addresses WHERE identity_id = $1 ORDER BY created_at, value", ident.id)
        ident.addresses = [AddressRecord(
            id=a["id"], kind=a["kind"], via=a["via"], value=a["value"], verified=bool(a["verified"]),
            status=a["status"], verified_at=a["verified_at"], created_at=a["created_at"],
            updated_at=a["updated_at"]) for a in rows]
        return ident


async def insert_credential(tx: Database, identity_id: str, cred: CredentialRecord) -> None:
    await tx.execute(
        """INSERT INTO identity_credentials (id, identity_id, type, config, version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        cred.id, identity_id, cred.type, jsoncol.dump(cred.config), cred.version, cred.created_at, cred.updated_at)
    for identifier in cred.identifiers:
        await tx.execute(
            """INSERT INTO identity_credential_identifiers (type, identifier, credential_id, identity_id)
               VALUES ($1, $2, $3, $4)""", cred.type, identifier, cred.id, identity_id)


async def insert_address(tx: Database, identity_id: str, addr: AddressRecord) -> None:
    await tx.execute(
        """INSERT INTO identity_addresses (id, identity_id, kind, via, value, verified, status,
           verified_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        addr.id, identity_id, addr.kind, addr.via, addr.value, addr.verified, addr.status,
        addr.verified_at, addr.created_at, addr.updated_at)
