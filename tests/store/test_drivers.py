"""The dialect seam behaves the same on SQLite and PostgreSQL: errors, transactions, types, unreachable databases."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatekeeper.config.dsn import Dsn
from gatekeeper.errors import StoreError, StoreUnavailable, UniqueViolation
from gatekeeper.store import Store, new_store, open_store
from tests.support.throttle import attempts

INSERT = "INSERT INTO throttle_counters (key, window_start, hits) VALUES ($1, $2, $3)"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_unique_violation_becomes_unique_violation(store: Store) -> None:
    now = datetime.now(UTC)
    await store.db.execute(INSERT, "k", now, 1)
    with pytest.raises(UniqueViolation) as caught:
        await store.db.execute(INSERT, "k", now, 2)
    assert caught.value.status == 409
    with pytest.raises(UniqueViolation):
        async with store.db.transaction() as tx:
            await tx.execute(INSERT, "k", now, 3)
    assert await store.db.fetch_val("SELECT hits FROM throttle_counters WHERE key = $1", "k") == 1


async def test_a_transaction_commits_together_or_not_at_all(store: Store) -> None:
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError):
        async with store.db.transaction() as tx:
            await tx.execute(INSERT, "a", now, 1)
            raise RuntimeError("abort")
    assert await store.db.fetch_val("SELECT count(*) FROM throttle_counters") == 0
    async with store.db.transaction() as tx:
        await tx.execute(INSERT, "a", now, 1)
        await tx.execute(INSERT, "b", now, 2)
    rows = await store.db.fetch_all("SELECT key, hits FROM throttle_counters ORDER BY key")
    assert [(r["key"], r["hits"]) for r in rows] == [("a", 1), ("b", 2)]


async def test_values_round_trip_with_the_same_types(store: Store) -> None:
    stamp = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert await store.db.execute(INSERT, "typed", stamp, 7) == 1
    row = await store.db.fetch_one("SELECT key, window_start, hits FROM throttle_counters WHERE key = $1", "typed")
    assert row is not None
    assert (row["key"], row["window_start"], row["hits"]) == ("typed", stamp, 7)
    assert await store.db.fetch_one("SELECT key FROM throttle_counters WHERE key = $1", "nope") is None
    assert await store.db.execute("UPDATE throttle_counters SET hits = hits + 1 WHERE key = $1", "typed") == 1
    await store.db.execute_many(INSERT, [("m1", stamp, 1), ("m2", stamp, 2)])
    assert await store.db.fetch_val("SELECT count(*) FROM throttle_counters") == 3


async def test_a_wrong_statement_is_a_store_error_not_unavailable(store: Store) -> None:
    with pytest.raises(StoreError) as caught:
        await store.db.fetch_all("SELECT * FROM no_such_table")
    assert not isinstance(caught.value, StoreUnavailable) and caught.value.status == 500


async def test_concurrent_writers_and_readers_do_not_trip_over_each_other(store: Store) -> None:
    now = datetime.now(UTC)

    async def write(i: int) -> None:
        async with store.db.transaction() as tx:
            await tx.execute(INSERT, f"w{i}", now, i)
            await tx.fetch_val("SELECT count(*) FROM throttle_counters")

    await asyncio.gather(*(write(i) for i in range(20)),
                         *(store.db.fetch_val("SELECT count(*) FROM throttle_counters") for _ in range(20)))
    assert await store.db.fetch_val("SELECT count(*) FROM throttle_counters") == 20


async def test_ping_answers_when_connected(store: Store) -> None:
    await store.ping()
    assert await store.pending_migrations() == []


async def test_a_store_not_yet_connected_is_unavailable(dsn: str) -> None:
    store = new_store(Dsn.parse(dsn))
    with pytest.raises(StoreUnavailable):
        await store.ping()
    with pytest.raises(StoreUnavailable):
        async with store.db.transaction():
            pass


async def test_an_unreachable_postgres_raises_store_unavailable_without_the_password() -> None:
    dsn = Dsn.parse(f"postgres://gk:hunter2@127.0.0.1:{closed_port()}/gatekeeper")
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(dsn)
    assert caught.value.status == 503
    assert caught.value.reason.startswith(f"{dsn.masked()}: ConnectionRefusedError: ")
    assert "hunter2" not in caught.value.reason + str(caught.value)
    assert "hunter2" not in dsn.masked()


@pytest.mark.postgres
async def test_a_missing_postgres_database_is_unavailable_with_the_servers_reason(postgres_dsn: str) -> None:
    base = postgres_dsn.rsplit("/", 1)[0].replace("postgres@", "postgres:hunter2@")  # trust auth ignores it
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(Dsn.parse(f"{base}/gk_no_such_database"))
    assert 'database "gk_no_such_database" does not exist' in caught.value.reason
    assert "hunter2" not in caught.value.reason and ":***@" in caught.value.reason


async def test_an_unusable_sqlite_path_raises_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(Dsn.parse(f"sqlite://{tmp_path}/file/gk.db"))
    assert str(tmp_path / "file") in caught.value.reason


async def test_sqlite_files_run_in_wal_mode(tmp_path: Path) -> None:
    store = await open_store(Dsn.parse(f"sqlite://{tmp_path}/gk.db?_fk=true"))
    try:
        assert await store.db.fetch_val("PRAGMA journal_mode") == "wal"
        assert await store.db.fetch_val("PRAGMA foreign_keys") == 1
    finally:
        await store.close()


async def test_memory_database_works(tmp_path: Path) -> None:
    store = await open_store(Dsn.parse("memory"))
    try:
        await store.migrate()
        assert (await store.hit("k", 60))[0] == 1
        assert await attempts(store, "k", 60) == 1
    finally:
        await store.close()


@pytest.mark.parametrize(("ci", "outcome"), [("", "skipped"), ("true", "error")])
def test_without_postgres_its_tests_skip_visibly_except_in_ci(ci: str, outcome: str) -> None:
    env = {**os.environ, "CI": ci, "GATEKEEPER_TEST_POSTGRES": f"postgres://postgres@127.0.0.1:{closed_port()}/test"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/store/test_throttle.py", "-k", "reset", "-p", "no:cacheprovider",
         "-rs", "-q"], capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent.parent, timeout=120)
    assert "1 passed" in result.stdout  # the SQLite run
    assert f"1 {outcome}" in result.stdout
    assert result.returncode == (1 if ci else 0)
    assert "PostgreSQL at postgres://postgres@127.0.0.1:" in result.stdout and "is not usable" in result.stdout

