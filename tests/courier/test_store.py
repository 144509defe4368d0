"""The outbox listing the admin API serves: newest first, filtered, paged by (created_at, id)."""

from __future__ import annotations

from collections.abc import Callable

from gatekeeper.config import Config
from gatekeeper.identity.courier import Courier
from gatekeeper.store import Store


async def test_messages_are_listed_newest_first_filtered_and_paged(
        store: Store, courier_config: Callable[..., Config]) -> None:
    courier = Courier(courier_config(None), store)
    queued = [await courier.enqueue_email(f"user{i % 2}@example.com", "login_code_valid", {"login_code": str(i)})
              for i in range(5)]
    (claimed,) = await store.claim_courier_messages(limit=1, lease=30, token="t")
    await store.finish_courier_attempt(claimed.id, "t", status="sent", dispatch="success")

    newest_first = [m.id for m in reversed(queued)]
    assert [m.id for m in await store.courier_messages()] == newest_first
    assert [m.id for m in await store.courier_messages(status="sent")] == [queued[0].id]
    assert {m.recipient for m in await store.courier_messages(recipient="user1@example.com")} == {"user1@example.com"}
    first = await store.courier_messages(limit=2)
    second = await store.courier_messages(limit=2, after=(first[-1].created_at, first[-1].id))
    third = await store.courier_messages(limit=2, after=(second[-1].created_at, second[-1].id))
    assert [m.id for m in first + second + third] == newest_first
    assert (await store.courier_message(queued[0].id)).dispatches[0].status == "success"
    assert await store.courier_message("00000000-0000-0000-0000-000000000000") is None
