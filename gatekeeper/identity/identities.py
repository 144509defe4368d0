"""The identity service: create identities from traits and credentials, find them, render Kratos' JSON."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from gatekeeper.identity.schemas import IdentitySchema, SchemaRegistry
from gatekeeper.store import Store
from gatekeeper.store.identities import AddressRecord, CredentialRecord, IdentityRecord


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Identities:
    def __init__(self, store: Store, schemas: SchemaRegistry, public_base_url: str) -> None:
        self.store, self.schemas, self.public_base_url = store, schemas, public_base_url.rstrip("/")

    def new(self, schema: IdentitySchema, traits: dict[str, Any], credentials: dict[str, dict[str, Any]]) -> \
            IdentityRecord:
        """An identity (not yet stored) with addresses derived from the schema extension."""
        now = datetime.now(UTC)
        ident = IdentityRecord(id=str(uuid.uuid4()), schema_id=schema.id, state="active", traits=traits,
                               created_at=now, updated_at=now, state_changed_at=now)
        for cred_type, config in credentials.items():
            identifiers = schema.identifiers(traits) if cred_type == "password" else []
            ident.credentials[cred_type] = CredentialRecord(
                id=str(uuid.uuid4()), type=cred_type, identifiers=identifiers, config=config,
                created_at=now, updated_at=now)
        for kind in ("verifiable", "recovery"):
            for via, value in schema.addresses(traits, "verification" if kind == "verifiable" else "recovery"):
                ident.addresses.append(AddressRecord(id=str(uuid.uuid4()), kind=kind, via=via, value=value,
                                                     created_at=now, updated_at=now))
        return ident

    async def create(self, ident: IdentityRecord) -> None:
        """Store it; raises UniqueViolation when an identifier or address is taken."""
        await self.store.insert_identity(ident)

    async def by_identifier(self, identifier: str) -> IdentityRecord | None:
        return await self.store.identity_by_identifier("password", identifier)

    def schema_url(self, schema_id: str) -> str:
        encoded = base64.urlsafe_b64encode(schema_id.encode()).decode().rstrip("=")
        return f"{self.public_base_url}/schemas/{encoded}"

    def to_json(self, ident: IdentityRecord, *, admin: bool = False) -> dict[str, Any]:
        """Kratos' identity JSON (public form: no credentials, no metadata_admin)."""
        out: dict[str, Any] = {
            "id": ident.id, "schema_id": ident.schema_id, "schema_url": self.schema_url(ident.schema_id),
            "state": ident.state, "state_changed_at": rfc3339(ident.state_changed_at), "traits": ident.traits,
        }
        verifiable = [a for a in ident.addresses if a.kind == "verifiable"]
        recovery = [a for a in ident.addresses if a.kind == "recovery"]
        if verifiable:
            out["verifiable_addresses"] = [_address(a, verifiable=True) for a in verifiable]
        if recovery:
            out["recovery_addresses"] = [_address(a, verifiable=False) for a in recovery]
        out["metadata_public"] = ident.metadata_public
        if admin:
            if ident.metadata_admin is not None:
                out["metadata_admin"] = ident.metadata_admin
            out["credentials"] = {t: {"type": t, "identifiers": c.identifiers, "version": c.version,
                                      "created_at": rfc3339(c.created_at), "updated_at": rfc3339(c.updated_at)}
                                  for t, c in ident.credentials.items()}
        if ident.external_id:
            out["external_id"] = ident.external_id
        out["organization_id"] = None
        out["created_at"] = rfc3339(ident.created_at)
        out["updated_at"] = rfc3339(ident.updated_at)
        return out


def _address(a: AddressRecord, *, verifiable: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": a.id, "value": a.value, "via": a.via}
    if verifiable:
        out.update(verified=a.verified, status=a.status)
        if a.verified_at is not None:
            out["verified_at"] = rfc3339(a.verified_at)
    out.update(created_at=rfc3339(a.created_at), updated_at=rfc3339(a.updated_at))
    return out
