"""Throttle counters shared by every replica: fixed windows, reset, atomic under concurrency (both dialects)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from gatekeeper.config.dsn import Dsn
from gatekeeper.store import Store, open_store
from tests.support.throttle import attempts


async def test_hits_count_within_the_window_and_report_when_it_ends(store: Store) -> None:
    before = datetime.now(UTC)
    results = [await store.hit("login:ada@example.com", 60) for _ in range(3)]
    assert [count for count, _ in results] == [1, 2, 3]
    ends = {end for _, end in results}
    assert len(ends) == 1  # one window, started by the first hit
    (end,) = ends
    assert before + timedelta(seconds=59) < end <= datetime.now(UTC) + timedelta(seconds=60)
    assert await attempts(store, "login:ada@example.com", 60) == 3  # reading does not count


async def test_keys_are_counted_separately(store: Store) -> None:
    await store.hit("ip:10.0.0.1", 60)
    await store.hit("ip:10.0.0.1", 60)
    assert (await store.hit("ip:10.0.0.2", 60))[0] == 1
    assert await attempts(store, "ip:10.0.0.1", 60) == 2
    assert await attempts(store, "ip:never-seen", 60) == 0


async def test_reset_starts_the_count_again(store: Store) -> None:
    for _ in range(4):
        await store.hit("code:42", 60)
    await store.reset("code:42")
    assert await attempts(store, "code:42", 60) == 0
    assert (await store.hit("code:42", 60))[0] == 1
    await store.reset("code:never-seen")  # resetting nothing is fine


async def test_an_elapsed_window_starts_a_new_count(store: Store) -> None:
    await store.hit("login:bob", 0.2)
    await store.hit("login:bob", 0.2)
    await asyncio.sleep(0.3)
    assert await attempts(store, "login:bob", 0.2) == 0
    count, end = await store.hit("login:bob", 0.2)
    assert count == 1 and end > datetime.now(UTC)


async def test_concurrent_hits_from_two_replicas_are_all_counted_once(store: Store, dsn: str) -> None:
    replica = await open_store(Dsn.parse(dsn))  # a second pool on the same database, as another replica
    try:
        hits = [s.hit("login:storm", 60) for _ in range(25) for s in (store, replica)]
        counts = sorted(count for count, _ in await asyncio.gather(*hits))
    finally:
        await replica.close()
    assert counts == list(range(1, 51))
    assert await attempts(store, "login:storm", 60) == 50
