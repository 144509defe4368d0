"""Storage: the only package that speaks SQL.

`Database` (db.py) is the narrow dialect seam, implemented for SQLite (sqlite.py) and PostgreSQL
(postgres.py). `Store` composes one persister per area (throttling, identities, sessions, flows, relation tuples...),
each written once in SQL both dialects accept, so the same tests run on both.
"""

from __future__ import annotations

from gatekeeper.config.dsn import Dsn
from gatekeeper.store import migrate
from gatekeeper.store.addresses import AddressPersister
from gatekeeper.store.admin import AdminPersister
from gatekeeper.store.courier import CourierPersister
from gatekeeper.store.credentials import CredentialPersister
from gatekeeper.store.db import Database
from gatekeeper.store.flows import FlowPersister
from gatekeeper.store.identities import IdentityPersister
from gatekeeper.store.postgres import PostgresDatabase
from gatekeeper.store.relation_tuples import RelationTuplePersister
from gatekeeper.store.revocation import RevocationPersister
from gatekeeper.store.sessions import SessionPersister
from gatekeeper.store.sqlite import SqliteDatabase
from gatekeeper.store.throttle import ThrottlePersister

__all__ = ["Database", "Store", "new_store", "open_store"]


class Store(ThrottlePersister, IdentityPersister, SessionPersister, FlowPersister, CourierPersister,
            RevocationPersister, AddressPersister, CredentialPersister, AdminPersister, RelationTuplePersister):
    """Every persister over one database."""

    db: SqliteDatabase | PostgresDatabase

    def __init__(self, db: SqliteDatabase | PostgresDatabase) -> None:
        self.db = db

    async def connect(self) -> None:
        """Reach the database (raises StoreUnavailable when it cannot)."""
        await self.db.connect()

    @property
    def dialect(self) -> str:
        return self.db.dialect

    async def ping(self) -> None:
        """Raise StoreUnavailable when the database does not answer."""
        await self.db.ping()

    async def pending_migrations(self) -> list[migrate.Migration]:
        return await migrate.pending(self.db)

    async def migrate(self) -> list[migrate.Migration]:
        return await migrate.up(self.db)

    async def close(self) -> None:
        await self.db.close()


def new_store(dsn: Dsn) -> Store:
    """A store for the database named by `dsn`, not yet connected."""
    return Store(SqliteDatabase(dsn.path) if dsn.dialect == "sqlite" else PostgresDatabase(dsn.url))


async def open_store(dsn: Dsn) -> Store:
    """A connected store (raises StoreUnavailable when the database cannot be reached)."""
    store = new_store(dsn)
    await store.connect()
    return store
