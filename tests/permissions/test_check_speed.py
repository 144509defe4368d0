"""Checks stay cheap (test_check_graph.py counts the statements of one check): repeated checks are answered from
the replica's cache, and a tuple written on any replica reaches every replica's cache within a second (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gatekeeper.cli import main
from gatekeeper.config import Config
from gatekeeper.config.permissions import Limit
from gatekeeper.errors import StoreError
from gatekeeper.identity.revocation import RevocationBroadcast
from gatekeeper.permissions.cache import CheckCache
from gatekeeper.permissions.check import CheckEngine
from gatekeeper.store import Store
from tests.permissions.test_check import MODEL, NAMESPACES, t, write
from tests.support.servers import Instance, running_gatekeeper

OPL = Path(__file__).parent / "fixtures" / "namespaces.keto.ts"


async def test_the_same_check_asked_many_times_at_once_is_computed_once(store: Store) -> None:
    await write(store, *MODEL)
    engine = CheckEngine(store, lambda: NAMESPACES, Limit(max_read_depth=10), cache=CheckCache(ttl=0, size=100))
    sent: list[str] = []
    store.db.on_query = lambda sql, _seconds, _error: sent.append(sql)
    assert await engine.check(t("File:plan#view@ada"))
    alone = len(sent)
    answers = await asyncio.gather(*(engine.check(t("File:plan#view@ada")) for _ in range(20)))
    assert answers == [True] * 20
    assert len(sent) == 2 * alone  # nothing cached (ttl 0), but the 20 concurrent ones shared one computation


async def test_a_cached_answer_is_reused_and_a_store_error_is_never_allowed_nor_cached(store: Store) -> None:
    await write(store, *MODEL)
    cache = CheckCache(ttl=3600, size=100)
    engine = CheckEngine(store, lambda: NAMESPACES, Limit(max_read_depth=10), cache=cache)
    assert await engine.check(t("File:plan#view@ada"))
    await store.close()
    assert await engine.check(t("File:plan#view@ada"))  # answered from the cache, no store needed
    with pytest.raises(StoreError):
        await engine.check(t("File:plan#view@bob"))  # fails closed: an error, not an answer
    await store.connect()
    assert await engine.check(t("File:plan#view@bob")) is False
    cache.clear()
    await store.close()
    with pytest.raises(StoreError):
        await engine.check(t("File:plan#view@ada"))


async def check(client: httpx.AsyncClient, api: str, subject: str) -> bool:
    r = await client.get(f"{api}/relation-tuples/check/openapi", params={
        "namespace": "Group", "object": "devs", "relation": "members", "subject_id": subject})
    assert r.status_code == 200, r.text
    return bool(r.json()["allowed"])


async def broadcast_ready(gk: Instance) -> None:
    """Until its first poll, a replica's broadcast may still clear its caches (it cannot know what it missed)."""
    for service in gk.container.services:
        if isinstance(service, RevocationBroadcast):
            await asyncio.wait_for(service.ready.wait(), 5)


async def test_a_write_on_one_replica_clears_every_replica_s_cache_within_a_second(
        make_config: Callable[..., Config], store: Store) -> None:
    config = make_config({"namespaces": {"location": f"file://{OPL}"},
                          "limit": {"check_cache_ttl": "1h"}})  # only the broadcast can make a replica re-check
    async with running_gatekeeper(config) as a, running_gatekeeper(config) as b, httpx.AsyncClient() as client:
        await broadcast_ready(b)
        assert await check(client, b.api, "ada") is False
        await write(store, "Group:devs#members@ada")  # behind gatekeeper's back: nobody is told
        assert await check(client, b.api, "ada") is False  # B answers from its cache
        r = await client.put(f"{a.admin}/admin/relation-tuples", json={
            "namespace": "Group", "object": "devs", "relation": "members", "subject_id": "bob"})
        assert r.status_code == 201, r.text
        start = time.monotonic()
        while not await check(client, b.api, "ada"):
            assert time.monotonic() - start < 1.0, "replica B still answers from its cache after 1 s"
            await asyncio.sleep(0.02)
        assert await check(client, a.api, "bob") is True


async def test_a_tuple_written_with_the_cli_reaches_a_running_replica_s_cache(
        make_config: Callable[..., Config], dsn: str, tmp_path: Path) -> None:
    config = make_config({"namespaces": {"location": f"file://{OPL}"}, "limit": {"check_cache_ttl": "1h"}})
    config_file = tmp_path / "cli.yaml"
    config_file.write_text(f"dsn: {dsn}\nnamespaces:\n  location: file://{OPL}\n")
    tuples = tmp_path / "tuples.json"
    tuples.write_text('{"namespace": "Group", "object": "devs", "relation": "members", "subject_id": "ada"}')
    async with running_gatekeeper(config) as gk, httpx.AsyncClient() as client:
        await broadcast_ready(gk)
        assert await check(client, gk.api, "ada") is False
        assert await asyncio.to_thread(main, ["relation-tuple", "create", str(tuples), "-c", str(config_file)]) == 0
        start = time.monotonic()
        while not await check(client, gk.api, "ada"):
            assert time.monotonic() - start < 1.0, "the running replica still answers from its cache after 1 s"
            await asyncio.sleep(0.02)


async def test_check_cache_hits_and_misses_are_counted_on_the_metrics_listener(
        make_config: Callable[..., Config]) -> None:
    config = make_config({"namespaces": {"location": f"file://{OPL}"}, "limit": {"check_cache_ttl": "1h"}})
    async with running_gatekeeper(config) as gk, httpx.AsyncClient() as client:
        await broadcast_ready(gk)
        assert await check(client, gk.api, "ada") is False  # computed: a miss
        assert await check(client, gk.api, "ada") is False  # the cached answer: a hit
        r = await client.put(f"{gk.admin}/admin/relation-tuples", json={
            "namespace": "Group", "object": "devs", "relation": "members", "subject_id": "ada"})
        assert r.status_code == 201, r.text
        assert await check(client, gk.api, "ada") is True  # the write cleared the cache: a miss again
        metrics = (await client.get(f"{gk.metrics}/metrics")).text
    assert 'gatekeeper_permission_check_cache_lookups_total{result="hit"} 1.0' in metrics
    assert 'gatekeeper_permission_check_cache_lookups_total{result="miss"} 2.0' in metrics


def test_answers_cached_together_expire_spread_over_the_last_fifth_of_the_ttl() -> None:
    """After a clear, a busy replica computes many answers at once: they must not all expire in the same instant
    (every request would then miss together), and none may outlive the TTL."""
    now = [0.0]
    cache = CheckCache(ttl=10, size=1000, clock=lambda: now[0])
    for i in range(200):
        cache.put(i, True, cache.generation)
    alive = []
    for moment in (7.9, 8.5, 9.0, 9.5, 10.0):
        now[0] = moment
        alive.append(sum(cache.get(i) is not None for i in range(200)))
    assert alive[0] == 200  # nothing before 8 s
    assert 200 > alive[1] > alive[2] > alive[3] > 0  # spread out between 8 and 10 s
    assert alive[4] == 0  # nothing after the TTL


async def test_a_due_answer_is_answered_at_once_and_renewed_in_the_background(store: Store) -> None:
    """Past three quarters of its life, a cached answer is still given (the request does not wait) while its
    successor is computed; the requests after that get the fresh answer, before the old one would have expired."""
    now = [0.0]
    engine = CheckEngine(store, lambda: NAMESPACES, Limit(max_read_depth=10),
                         cache=CheckCache(ttl=10, size=100, clock=lambda: now[0]))
    assert await engine.check(t("Group:devs#members@ada")) is False
    await write(store, "Group:devs#members@ada")  # behind gatekeeper's back: nobody clears the cache
    now[0] = 5.0  # not yet due (due at 6 to 7.5 s, expires at 8 to 10 s)
    assert await engine.check(t("Group:devs#members@ada")) is False
    sent: list[str] = []
    store.db.on_query = lambda sql, _seconds, _error: sent.append(sql)
    now[0] = 7.6  # due
    assert await engine.check(t("Group:devs#members@ada")) is False  # the cached answer, at once
    for _ in range(100):  # the renewal runs in the background
        if await engine.check(t("Group:devs#members@ada")):
            break
        await asyncio.sleep(0.01)
    assert await engine.check(t("Group:devs#members@ada")) is True
    assert len(sent) == 1  # one renewal, however many requests found the answer due
