"""Numbered SQL migrations per dialect (`migrations/<dialect>/NNNN_name.sql`), applied once each.

On PostgreSQL the whole run holds an advisory lock, so replicas starting together migrate exactly
once; on SQLite the whole run is one `BEGIN IMMEDIATE` transaction, which excludes other writers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources

from gatekeeper.store.db import Database

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x6761746B65657072  # "gatekeepr": one advisory lock id for all of gatekeeper's migrations
_TABLE = """CREATE TABLE IF NOT EXISTS gatekeeper_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at {timestamp} NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@dataclass(frozen=True)
class MigrationState:
    migration: Migration
    applied_at: datetime | None

    @property
    def applied(self) -> bool:
        return self.applied_at is not None


def available(dialect: str) -> list[Migration]:
    """The migrations shipped for `dialect`, in order."""
    return list(_shipped(dialect))


@cache
def _shipped(dialect: str) -> tuple[Migration, ...]:  # read once: readiness probes ask on every call
    folder = resources.files("gatekeeper.store") / "migrations" / dialect
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return tuple(sorted(found, key=lambda m: m.version))


async def status(db: Database) -> list[MigrationState]:
    """Every shipped migration and when it was applied (None: pending)."""
    applied = await _applied(db)
    return [MigrationState(m, applied.get(m.version)) for m in available(db.dialect)]


async def pending(db: Database) -> list[Migration]:
    return [s.migration for s in await status(db) if not s.applied]


async def up(db: Database) -> list[Migration]:
    """Apply every pending migration; returns those this call applied (none when another process did)."""
    if db.dialect == "postgres":
        async with db.locked(_LOCK_KEY) as conn:  # type: ignore[attr-defined]
            return await _apply_pending(conn, each_in_transaction=True)
    async with db.transaction() as tx:  # SQLite: BEGIN IMMEDIATE excludes every other writer, in any process
        return await _apply_pending(tx, each_in_transaction=False)


async def _apply_pending(db: Database, *, each_in_transaction: bool) -> list[Migration]:
    await db.execute(_TABLE.format(timestamp="TIMESTAMPTZ" if db.dialect == "postgres" else "TIMESTAMP"))
    record = "INSERT INTO gatekeeper_migrations (version, name, applied_at) VALUES ($1, $2, $3)"
    done = []
    for migration in await pending(db):
        if each_in_transaction:  # PostgreSQL: DDL is transactional; one transaction per migration
            await db.execute("BEGIN")
            try:
                await db.execute(migration.sql)
                await db.execute(record, migration.version, migration.name, datetime.now(UTC))
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")
        else:  # already inside the caller's transaction
            await db.run_script(migration.sql)
            await db.execute(record, migration.version, migration.name, datetime.now(UTC))
        done.append(migration)
    return done


async def _applied(db: Database) -> dict[int, datetime]:
    exists = await db.fetch_val(
        "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'gatekeeper_migrations' "
        "AND schemaname = current_schema()"
        if db.dialect == "postgres"
        else "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'gatekeeper_migrations'"
    )
    if not exists:
        return {}
    rows = await db.fetch_all("SELECT version, applied_at FROM gatekeeper_migrations")
    return {row["version"]: row["applied_at"] for row in rows}
