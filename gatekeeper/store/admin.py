"""What the admin API needs beyond the self-service persisters: keyset listing, replace, delete, session admin.

Identity pages are ordered by id (a UUID) and continue after the previous page's last id, so every page
is one index range scan however deep it is; the page's credentials and addresses come in two batched
queries, not three per identity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gatekeeper.store import jsoncol
from gatekeeper.store.db import Database, Row
from gatekeeper.store.identities import (
    AddressRecord,
    CredentialRecord,
    IdentityRecord,
    insert_address,
    insert_credential,
)
from gatekeeper.store.sessions import SessionRecord, session_record


def _in(start: int, count: int) -> str:
    return ", ".join(f"${i}" for i in range(start, start + count))


class AdminPersister:
    db: Database

    async def list_identities(self, *, limit: int, after: str | None = None, identifier: str | None = None,
                              similar: str | None = None, ids: list[str] | None = None) -> list[IdentityRecord]:
        """A page of identities ordered by id; at most one of identifier (exact), similar (prefix), ids."""
        args: list[Any] = []
        where = []
        if after:
            args.append(after)
            where.append(f"i.id > ${len(args)}")
        if ids is not None:
            where.append(f"i.id IN ({_in(len(args) + 1, len(ids))})" if ids else "FALSE")
            args.extend(ids)
        if identifier is not None:
            args.append(identifier)
            where.append(f"i.id IN (SELECT identity_id FROM identity_credential_identifiers WHERE identifier = "  # noqa: S608
                         f"${len(args)})")
        if similar is not None:
            args.append(similar.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
            where.append(f"i.id IN (SELECT identity_id FROM identity_credential_identifiers WHERE identifier LIKE "  # noqa: S608
                         f"${len(args)} ESCAPE '\\')")
        args.append(limit)
        sql = (f"SELECT i.* FROM identities i {'WHERE ' + ' AND '.join(where) if where else ''} "  # noqa: S608
               f"ORDER BY i.id LIMIT ${len(args)}")
        return await self._complete_many(await self.db.fetch_all(sql, *args))

    async def _complete_many(self, rows: list[Row]) -> list[IdentityRecord]:
        idents = [IdentityRecord(
            id=r["id"], schema_id=r["schema_id"], state=r["state"], traits=jsoncol.load(r["traits"]),
            metadata_public=jsoncol.load(r["metadata_public"]), metadata_admin=jsoncol.load(r["metadata_admin"]),
            external_id=r["external_id"], state_changed_at=r["state_changed_at"], created_at=r["created_at"],
            updated_at=r["updated_at"]) for r in rows]
        if not idents:
            return []
        by_id = {i.id: i for i in idents}
        keys = list(by_id)
        marks = _in(1, len(keys))
        creds = await self.db.fetch_all(
            f"SELECT * FROM identity_credentials WHERE identity_id IN ({marks}) "  # noqa: S608
            "ORDER BY created_at, type", *keys)
        names = await self.db.fetch_all(
            f"SELECT credential_id, identifier FROM identity_credential_identifiers "  # noqa: S608
            f"WHERE identity_id IN ({marks}) ORDER BY identifier", *keys)
        per_cred: dict[str, list[str]] = {}
        for n in names:
            per_cred.setdefault(n["credential_id"], []).append(n["identifier"])
        for c in creds:
            by_id[c["identity_id"]].credentials[c["type"]] = CredentialRecord(
                id=c["id"], type=c["type"], config=jsoncol.load(c["config"]), version=c["version"],
                identifiers=per_cred.get(c["id"], []), created_at=c["created_at"], updated_at=c["updated_at"])
        addrs = await self.db.fetch_all(
            f"SELECT * FROM identity_addresses WHERE identity_id IN ({marks}) "  # noqa: S608
            "ORDER BY created_at, value", *keys)
        for a in addrs:
            by_id[a["identity_id"]].addresses.append(AddressRecord(
                id=a["id"], kind=a["kind"], via=a["via"], value=a["value"], verified=bool(a["verified"]),
                status=a["status"], verified_at=a["verified_at"], created_at=a["created_at"],
                updated_at=a["updated_at"]))
        return idents

    async def replace_identity(self, ident: IdentityRecord) -> None:
        """Write an identity's row, credentials and addresses as given (atomically; UniqueViolation on a clash)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                """UPDATE identities SET schema_id = $2, state = $3, traits = $4, metadata_public = $5,
                   metadata_admin = $6, external_id = $7, state_changed_at = $8, updated_at = $9 WHERE id = $1""",
                ident.id, ident.schema_id, ident.state, jsoncol.dump(ident.traits), jsoncol.dump(ident.metadata_public),
                jsoncol.dump(ident.metadata_admin), ident.external_id, ident.state_changed_at, ident.updated_at)
            await tx.execute("DELETE FROM identity_credential_identifiers WHERE identity_id = $1", ident.id)
            await tx.execute("DELETE FROM identity_credentials WHERE identity_id = $1", ident.id)
            await tx.execute("DELETE FROM identity_addresses WHERE identity_id = $1", ident.id)
            for cred in ident.credentials.values():
                await insert_credential(tx, ident.id, cred)
            for addr in ident.addresses:
                await insert_address(tx, ident.id, addr)

    async def delete_identity(self, identity_id: str) -> bool:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM sessions WHERE identity_id = $1", identity_id)
            await tx.execute("DELETE FROM identity_credential_identifiers WHERE identity_id = $1", identity_id)
            await tx.execute("DELETE FROM identity_credentials WHERE identity_id = $1", identity_id)
            await tx.execute("DELETE FROM identity_addresses WHERE identity_id = $1", identity_id)
            return await tx.execute("DELETE FROM identities WHERE id = $1", identity_id) > 0

    async def identity_id_by_external_id(self, external_id: str) -> str | None:
        found = await self.db.fetch_val("SELECT id FROM identities WHERE external_id = $1", external_id)
        return None if found is None else str(found)

    # -- sessions --------------------------------------------------------------------------------------

    async def session(self, session_id: str) -> SessionRecord | None:
        row = await self.db.fetch_one("SELECT * FROM sessions WHERE id = $1", session_id)
        return None if row is None else session_record(row)

    async def list_sessions(self, *, limit: int, after: str | None = None, active: bool | None = None,
                            identity_id: str | None = None, now: datetime | None = None) -> list[SessionRecord]:
        """A page of sessions ordered by id; `active` compares with `now` as well as the flag."""
        args: list[Any] = []
        where = []
        for column, value in (("id >", after), ("identity_id =", identity_id)):
            if value:
                args.append(value)
                where.append(f"{column} ${len(args)}")
        if active is not None:
            args.append(now)
            where.append(f"(active = TRUE AND expires_at > ${len(args)})" if active
                         else f"(active = FALSE OR expires_at <= ${len(args)})")
        args.append(limit)
        sql = (f"SELECT * FROM sessions {'WHERE ' + ' AND '.join(where) if where else ''} "  # noqa: S608
               f"ORDER BY id LIMIT ${len(args)}")
        return [session_record(r) for r in await self.db.fetch_all(sql, *args)]

    async def extend_session(self, session_id: str, expires_at: datetime, now: datetime) -> bool:
        return await self.db.execute(
            "UPDATE sessions SET expires_at = $2, updated_at = $3 WHERE id = $1 AND active = TRUE",
            session_id, expires_at, now) > 0

    async def delete_sessions_of(self, identity_id: str) -> int:
        return await self.db.execute("DELETE FROM sessions WHERE identity_id = $1", identity_id)
