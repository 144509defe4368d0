"""The revocation broadcast between replicas sharing one database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from gatekeeper.config.dsn import Dsn
from gatekeeper.identity.revocation import RevocationBroadcast
from gatekeeper.store import Store, open_store


class Replica:
    """What one replica's broadcast told it: the hashes it dropped and how often it dropped everything."""

    def __init__(self, store: Store) -> None:
        self.store, self.dropped, self.resets = store, [], 0
        self.registry = CollectorRegistry()
        self.broadcast = RevocationBroadcast(store, [self.dropped.extend], self.reset, self.registry)

    def reset(self) -> None:
        self.resets += 1

    async def until_dropped(self, digest: str, timeout: float = 5.0) -> float:
        start = time.monotonic()
        while digest not in self.dropped:
            assert time.monotonic() - start < timeout, f"{digest} never arrived; got {self.dropped}"
            await asyncio.sleep(0.01)
        return time.monotonic() - start


@asynccontextmanager
async def replica(dsn: str) -> AsyncIterator[Replica]:
    store = await open_store(Dsn.parse(dsn))
    one = Replica(store)
    await one.broadcast.start()
    try:
        await asyncio.wait_for(one.broadcast.ready.wait(), 10)
        yield one
    finally:
        await one.broadcast.stop()
        await store.close()


@pytest.mark.postgres
async def test_a_revocation_on_one_replica_reaches_the_others_once(dsn: str) -> None:
    async with replica(dsn) as a, replica(dsn) as b, replica(dsn) as c:
        await a.store.publish_revoked(["h1", "h2"])
        for other in (a, b, c):
            await other.until_dropped("h2")
        await asyncio.sleep(0.6)  # several polls later (and inside the re-read window)...
        assert b.dropped == ["h1", "h2"] and c.dropped == ["h1", "h2"]  # ...each hash was handed over once


@pytest.mark.postgres
async def test_events_before_a_replica_started_are_not_replayed(dsn: str) -> None:
    async with replica(dsn) as a:
        await a.store.publish_revoked(["old"])
        await asyncio.sleep(2.5)  # past the re-read window
        async with replica(dsn) as late:
            await a.store.publish_revoked(["new"])
            await late.until_dropped("new")
            assert "old" not in late.dropped


@pytest.mark.postgres
async def test_a_failed_poll_drops_the_whole_cache(dsn: str) -> None:
    async with replica(dsn) as a:
        before = a.resets
        await a.store.db.close()  # this replica loses the database
        deadline = time.monotonic() + 5
        while a.resets == before:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await a.store.connect()


@pytest.mark.postgres
async def test_pruning_keeps_recent_events(dsn: str) -> None:
    async with replica(dsn) as a:
        await a.store.publish_revoked(["recent"])
        assert await a.store.prune_revocations(3600) == 0
        assert [h for _, h in await a.store.revocations_since(0, 0)] == ["recent"]


async def test_a_dropped_listener_connection_falls_back_to_polling_and_reconnects(postgres_dsn: str) -> None:
    from tests.support.databases import ADMIN_DSN

    store = await open_store(Dsn.parse(postgres_dsn))
    await store.migrate()
    await store.close()
    async with replica(postgres_dsn) as a, replica(postgres_dsn) as b:
        up = b.registry.get_sample_value
        deadline = time.monotonic() + 10
        while up("gatekeeper_session_revocation_listener_up") != 1:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        admin = await asyncpg.connect(ADMIN_DSN)
        try:  # kill every LISTEN connection on this database (the listeners of a and b)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
                postgres_dsn.rsplit("/", 1)[1])
        finally:
            await admin.close()
        while up("gatekeeper_session_revocation_listener_up") != 0:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        await a.store.publish_revoked(["while-down"])
        assert await b.until_dropped("while-down") < 1.0  # the fast poll, not the listener, delivered it
        while up("gatekeeper_session_revocation_listener_up") != 1:  # and the listener came back by itself
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await a.store.publish_revoked(["after"])
        await b.until_dropped("after")


async def test_a_blackholed_database_drops_the_cache_within_the_bound(postgres_dsn: str) -> None:
    """A partition (packets vanish, nothing resets): the poll times out and the replica stops trusting its cache."""
    from urllib.parse import urlsplit

    from tests.support.tcpproxy import tcp_proxy

    store = await open_store(Dsn.parse(postgres_dsn))
    await store.migrate()
    await store.close()
    parts = urlsplit(postgres_dsn)
    with tcp_proxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        async with replica(f"postgres://{parts.username}@127.0.0.1:{proxy.port}{parts.path}") as a:
            await asyncio.sleep(0.3)
            before = a.resets
            proxy.blackhole()
            start = time.monotonic()
            while a.resets == before:
                assert time.monotonic() - start < 5, "the cache was never dropped"
                await asyncio.sleep(0.02)
            assert time.monotonic() - start < 2.5  # poll interval (1 s) + poll timeout (1 s), with margin
            proxy.cut()  # reset what hangs, so the pool closes at once
            proxy.restore()
