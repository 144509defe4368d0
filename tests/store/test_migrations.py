"""Migrations on SQLite and PostgreSQL: each applied once, listed by status, exactly once under concurrency."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from gatekeeper.config.dsn import Dsn
from gatekeeper.store import Store, migrate, new_store, open_store
from tests.support.databases import create_postgres_database, drop_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_dsn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database nobody has migrated: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path}/fresh.db?_fk=true"
        return
    request.getfixturevalue("postgres_dsn")  # skips (or fails in CI) when PostgreSQL does not answer
    dsn, why = create_postgres_database()
    assert dsn is not None, why
    yield dsn
    drop_postgres_database(dsn)


@pytest.fixture
async def fresh(fresh_dsn: str) -> AsyncIterator[Store]:
    store = await open_store(Dsn.parse(fresh_dsn))
    yield store
    await store.close()


def names(migrations: list[migrate.Migration]) -> list[str]:
    return [f"{m.version:04d}_{m.name}" for m in migrations]


async def recorded(store: Store) -> list[int]:
    rows = await store.db.fetch_all("SELECT version FROM gatekeeper_migrations ORDER BY version")
    return [row["version"] for row in rows]


def test_each_dialect_ships_the_same_numbered_migrations() -> None:
    sqlite, postgres = migrate.available("sqlite"), migrate.available("postgres")
    assert sqlite and names(sqlite) == names(postgres)
    versions = [m.version for m in sqlite]
    assert versions == sorted(set(versions))


async def test_up_applies_every_migration_once_and_status_lists_them(fresh: Store) -> None:
    shipped = migrate.available(fresh.dialect)
    before = await migrate.status(fresh.db)
    assert [s.migration.version for s in before] == [m.version for m in shipped]
    assert not any(s.applied for s in before)
    assert names(await fresh.pending_migrations()) == names(shipped)

    applied = await fresh.migrate()
    assert names(applied) == names(shipped)
    assert await fresh.migrate() == []  # a second run finds nothing to do
    assert await fresh.pending_migrations() == []
    after = await migrate.status(fresh.db)
    assert all(s.applied_at is not None and s.applied_at.tzinfo is not None for s in after)
    assert await recorded(fresh) == [m.version for m in shipped]


async def test_migrations_create_the_tables_later_issues_fill(fresh: Store) -> None:
    await fresh.migrate()
    for table in ("throttle_counters", "identities", "identity_credentials", "selfservice_flows", "sessions",
                  "courier_messages"):
        assert await fresh.db.fetch_val(f"SELECT count(*) FROM {table}") == 0  # noqa: S608


async def test_four_pools_starting_at_once_migrate_exactly_once(fresh_dsn: str) -> None:
    stores = [new_store(Dsn.parse(fresh_dsn)) for _ in range(4)]
    await asyncio.gather(*(s.connect() for s in stores))
    try:
        results = await asyncio.gather(*(s.migrate() for s in stores))
        shipped = migrate.available(stores[0].dialect)
        assert sorted(len(r) for r in results) == [0, 0, 0, len(shipped)]
        assert await recorded(stores[0]) == [m.version for m in shipped]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_four_processes_starting_at_once_migrate_exactly_once(fresh_dsn: str) -> None:
    command = [sys.executable, "-m", "gatekeeper.cli", "migrate", "up", "--dsn", fresh_dsn]
    procs = [await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err.decode() for _, err in outputs]
    applied = [line for out, _ in outputs for line in out.decode().splitlines() if line.startswith("applied ")]
    shipped = migrate.available(Dsn.parse(fresh_dsn).dialect)
    assert sorted(applied) == [f"applied {n}" for n in names(shipped)]
    store = await open_store(Dsn.parse(fresh_dsn))
    try:
        assert await recorded(store) == [m.version for m in shipped]
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_migrations_wait_for_the_advisory_lock(postgres_dsn: str) -> None:
    dsn, why = create_postgres_database()
    assert dsn is not None, why
    other = await asyncpg.connect(dsn)  # another replica, holding the lock mid-migration
    store = await open_store(Dsn.parse(dsn))
    try:
        await other.execute("SELECT pg_advisory_lock($1)", migrate._LOCK_KEY)
        waiting = asyncio.create_task(store.migrate())
        await asyncio.sleep(0.6)
        assert not waiting.done()
        assert await store.pending_migrations()  # nothing applied behind the other replica's back
        await other.execute("SELECT pg_advisory_unlock($1)", migrate._LOCK_KEY)
        assert names(await asyncio.wait_for(waiting, 30)) == names(migrate.available("postgres"))
    finally:
        await other.close()
        await store.close()
        drop_postgres_database(dsn)

