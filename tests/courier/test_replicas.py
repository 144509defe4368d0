"""Several workers on one outbox (replicas): each message is sent exactly once; a dead worker loses nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from gatekeeper.config import Config
from gatekeeper.config.dsn import Dsn
from gatekeeper.identity.courier import Courier
from gatekeeper.store import Store, open_store
from tests.courier.conftest import running, settled
from tests.support.smtp import SmtpSink


@pytest.fixture
async def replica_stores(dsn: str) -> AsyncIterator[list[Store]]:
    """Three stores on the same database, each with its own connections (three replicas)."""
    stores = [await open_store(Dsn.parse(dsn)) for _ in range(3)]
    yield stores
    for store in stores:
        await store.close()


async def test_three_workers_deliver_each_message_exactly_once(
        replica_stores: list[Store], sink: SmtpSink, courier_config: Callable[..., Config]) -> None:
    config = courier_config(sink.uri(query="disable_starttls=true"), worker={"pull_count": 3, "pull_wait": "20ms"})
    couriers = [Courier(config, store) for store in replica_stores]
    count = 45
    for i in range(count):  # queued before the workers start, so all three compete for the backlog
        await couriers[i % 3].enqueue_email(f"user{i}@example.com", "login_code_valid", {"login_code": f"{i:06d}"})
    async with running(couriers[0]), running(couriers[1]), running(couriers[2]):
        received = await sink.wait_for(count)
        await asyncio.sleep(0.2)  # a duplicate would arrive within a few polls
    per_recipient = Counter(r.rcpt_tos[0] for r in received)
    assert len(received) == count and set(per_recipient.values()) == {1}
    for message in await replica_stores[0].courier_messages(limit=100):
        full = await replica_stores[0].courier_message(message.id)
        assert full.status == "sent" and full.send_count == 1 and len(full.dispatches) == 1


@pytest.mark.parametrize("dsn", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_a_claim_skips_rows_another_replica_has_locked(store: Store, dsn: str,
                                                             courier_config: Callable[..., Config]) -> None:
    """FOR UPDATE SKIP LOCKED: a second claimer neither waits for nor takes rows locked by the first."""
    courier = Courier(courier_config(None), store)
    first, second = [await courier.enqueue_email(f"u{i}@example.com", "login_code_valid", {"login_code": "1"})
                     for i in range(2)]
    other = await asyncpg.connect(dsn)
    try:
        async with other.transaction():  # a replica in the middle of its claim holds the oldest row
            await other.execute("SELECT id FROM courier_messages WHERE id = $1 FOR UPDATE", first.id)
            claimed = await asyncio.wait_for(store.claim_courier_messages(limit=10, lease=30, token="t2"), 5)
    finally:
        await other.close()
    assert [m.id for m in claimed] == [second.id]


async def test_a_message_claimed_by_a_worker_that_died_is_delivered_after_its_lease(
        store: Store, sink: SmtpSink, courier_config: Callable[..., Config]) -> None:
    config = courier_config(sink.uri(query="disable_starttls=true"))
    courier = Courier(config, store)
    queued = await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
    # a worker claims the message, then its process dies: no result is ever recorded
    (claimed,) = await store.claim_courier_messages(limit=10, lease=1.0, token="dead-worker")
    assert claimed.id == queued.id and claimed.status == "processing"
    async with running(courier):
        assert await courier.worker.dispatch_batch() == 0  # still leased to the dead worker
        (mail,) = await sink.wait_for(1)
        sent = await settled(store, queued.id, "sent")
    assert mail.rcpt_tos == ["ada@example.com"]
    assert sent.send_count == 2 and [d.status for d in sent.dispatches] == ["success"]
    # the dead worker's late result cannot overwrite the newer claim's outcome
    assert not await store.finish_courier_attempt(queued.id, "dead-worker", status="queued", dispatch="failed",
                                                  error={"message": "late"})
    assert (await store.courier_message(queued.id)).status == "sent"


async def test_a_stopping_worker_puts_unattempted_messages_back(
        store: Store, courier_config: Callable[..., Config]) -> None:
    courier = Courier(courier_config(None), store)
    queued = await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
    await store.claim_courier_messages(limit=10, lease=30, token="stopping")
    assert await store.release_courier_claim("stopping") == 1
    back = await store.courier_message(queued.id)
    assert back.status == "queued" and back.send_count == 0


async def test_a_message_that_keeps_killing_its_worker_is_abandoned(
        store: Store, sink: SmtpSink, courier_config: Callable[..., Config]) -> None:
    config = courier_config(sink.uri(query="disable_starttls=true"), message_retries=0)
    courier = Courier(config, store)
    queued = await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
    await store.claim_courier_messages(limit=10, lease=0, token="died-sending-it")  # the only attempt allowed
    assert await courier.worker.dispatch_batch() == 1
    abandoned = await store.courier_message(queued.id)
    assert abandoned.status == "abandoned" and sink.received == []
    assert "claims without a result" in abandoned.dispatches[0].error["message"]


async def test_the_worker_survives_a_database_outage(
        store: Store, sink: SmtpSink, courier_config: Callable[..., Config]) -> None:
    courier = Courier(courier_config(sink.uri(query="disable_starttls=true")), store)
    async with running(courier):
        await store.close()  # every statement now fails with StoreUnavailable
        await asyncio.sleep(0.2)
        await store.connect()
        await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
        (mail,) = await sink.wait_for(1)
    assert mail.rcpt_tos == ["ada@example.com"]


async def test_a_slow_server_does_not_let_the_claim_expire_into_duplicates(
        replica_stores: list[Store], courier_config: Callable[..., Config]) -> None:
    """The worker renews its lease while it works through a batch, so another replica never takes it over."""
    server = await SmtpSink(delay=0.3).start()  # 4 messages take ~1.2 s; the lease is 1 s
    try:
        config = courier_config(server.uri(query="disable_starttls=true"), worker={"claim_lease": "1s"})
        first, second = Courier(config, replica_stores[0]), Courier(config, replica_stores[1])
        for i in range(4):
            await first.enqueue_email(f"user{i}@example.com", "login_code_valid", {"login_code": str(i)})
        async with running(first):
            await server.wait_for(1)  # the first replica holds the whole batch now
            async with running(second):
                await server.wait_for(4)
                await asyncio.sleep(0.3)
    finally:
        await server.stop()
    assert sorted(r.rcpt_tos[0] for r in server.received) == [f"user{i}@example.com" for i in range(4)]
