"""Housekeeping (identity/cleanup.py) on both dialects: stale rows go in bounded batches, live rows stay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gatekeeper.config import Config
from gatekeeper.config.database import CleanupSleep, DatabaseCleanup
from gatekeeper.config.types import Duration
from gatekeeper.identity.cleanup import Cleanup
from gatekeeper.store import Store
from tests.support.servers import running_gatekeeper

WINDOW = 900.0  # the throttling window the service is told about


def ago(**kw: float) -> datetime:
    return datetime.now(UTC) - timedelta(**kw)


def cleanup(store: Store, **settings: object) -> Cleanup:
    return Cleanup(store, DatabaseCleanup(sleep=CleanupSleep(Duration(0)), **settings),  # type: ignore[arg-type]
                   throttle_window=WINDOW)


async def add_identity(store: Store) -> str:
    ident = str(uuid.uuid4())
    await store.db.execute(
        """INSERT INTO identities (id, schema_id, state, traits, created_at, updated_at)
           VALUES ($1, 'default', 'active', '{}', $2, $2)""", ident, ago(days=30))
    return ident


async def add_session(store: Store, identity: str, *, expires: datetime, active: bool = True,
                      updated: datetime | None = None) -> str:
    sid, at = str(uuid.uuid4()), ago(days=2)
    await store.db.execute(
        """INSERT INTO sessions (id, identity_id, token_hash, logout_token_hash, active, aal, authentication_methods,
           devices, issued_at, authenticated_at, expires_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, 'aal1', '[]', '[]', $6, $6, $7, $8)""",
        sid, identity, uuid.uuid4().hex, uuid.uuid4().hex, active, at, expires, updated or at)
    return sid


async def add_counter(store: Store, key: str, started: datetime) -> None:
    await store.db.execute("INSERT INTO throttle_counters (key, window_start, hits) VALUES ($1, $2, 3)", key, started)


async def add_event(store: Store, created: datetime) -> str:
    digest = uuid.uuid4().hex
    await store.db.execute("INSERT INTO session_events (token_hash, created_at) VALUES ($1, $2)", digest, created)
    return digest


async def add_message(store: Store, status: str, updated: datetime) -> str:
    mid = str(uuid.uuid4())
    await store.db.execute(
        """INSERT INTO courier_messages (id, status, recipient, subject, body, template_type, next_attempt_at,
           created_at, updated_at) VALUES ($1, $2, 'ada@example.com', 's', 'b', 'login_code', $3, $3, $3)""",
        mid, status, updated)
    await store.db.execute(
        """INSERT INTO courier_message_dispatches (id, message_id, status, created_at, updated_at)
           VALUES ($1, $2, 'success', $3, $3)""", str(uuid.uuid4()), mid, updated)
    return mid


async def add_flow(store: Store, expires: datetime) -> str:
    fid = str(uuid.uuid4())
    await store.db.execute(
        """INSERT INTO selfservice_flows (id, kind, type, body, internal, csrf_hash, issued_at, expires_at, updated_at)
           VALUES ($1, 'login', 'browser', '{}', '{}', 'x', $2, $2, $2)""", fid, expires)
    return fid


async def ids(store: Store, table: str, column: str = "id") -> set[str]:
    return {str(r[column]) for r in await store.db.fetch_all(f"SELECT {column} FROM {table}")}  # noqa: S608


async def test_rows_past_their_horizon_go_and_the_others_stay(store: Store) -> None:
    ident = await add_identity(store)
    await add_session(store, ident, expires=ago(minutes=1))  # expired
    live = await add_session(store, ident, expires=ago(hours=-1))
    await add_session(store, ident, expires=ago(hours=-20), active=False, updated=ago(hours=2))  # revoked long ago
    revoked_just_now = await add_session(store, ident, expires=ago(hours=-20), active=False, updated=ago(minutes=5))
    await add_counter(store, "login:old", ago(seconds=WINDOW + 60))
    await add_counter(store, "login:current", ago(seconds=WINDOW - 60))
    await add_event(store, ago(hours=2))
    recent_event = await add_event(store, ago(minutes=30))
    sent_long_ago = await add_message(store, "sent", ago(days=8))
    abandoned_long_ago = await add_message(store, "abandoned", ago(days=8))
    sent_yesterday = await add_message(store, "sent", ago(days=1))
    queued_long_ago = await add_message(store, "queued", ago(days=30))  # never delivered: never deleted
    await add_flow(store, ago(hours=2))
    recently_expired_flow = await add_flow(store, ago(minutes=10))  # still answers 410 with a fresh flow

    deleted = await cleanup(store).run_once()

    assert deleted == {"selfservice_flows": 1, "sessions": 2, "throttle_counters": 1, "session_events": 1,
                       "courier_messages": 2}
    assert await ids(store, "sessions") == {live, revoked_just_now}
    assert await ids(store, "throttle_counters", "key") == {"login:current"}
    assert await ids(store, "session_events", "token_hash") == {recent_event}
    assert await ids(store, "courier_messages") == {sent_yesterday, queued_long_ago}
    assert {sent_long_ago, abandoned_long_ago}.isdisjoint(await ids(store, "courier_message_dispatches", "message_id"))
    assert await ids(store, "selfservice_flows") == {recently_expired_flow}
    assert await cleanup(store).run_once() == dict.fromkeys(deleted, 0)  # idempotent


async def test_older_than_keeps_rows_that_much_longer(store: Store) -> None:
    ident = await add_identity(store)
    session = await add_session(store, ident, expires=ago(hours=1))
    await add_counter(store, "login:old", ago(seconds=WINDOW + 3600))
    kept = await cleanup(store, older_than=Duration(2 * 3600)).run_once()
    assert kept["sessions"] == kept["throttle_counters"] == 0
    assert await ids(store, "sessions") == {session}
    gone = await cleanup(store, older_than=Duration(30 * 60)).run_once()
    assert gone["sessions"] == gone["throttle_counters"] == 1


async def test_older_than_never_shortens_what_the_revocation_broadcast_needs(store: Store) -> None:
    """A lagging replica reads events by sequence number: they stay for the broadcast's whole horizon."""
    recent = await add_event(store, ago(minutes=50))
    assert (await cleanup(store, older_than=Duration(0)).run_once())["session_events"] == 0
    assert await ids(store, "session_events", "token_hash") == {recent}


Seed = Callable[[Store, int], Awaitable[None]]
Batch = Callable[[Store, int], Awaitable[int]]


async def _seed_counters(store: Store, n: int) -> None:
    for i in range(n):
        await add_counter(store, f"k{i}", ago(hours=2))


async def _seed_sessions(store: Store, n: int) -> None:
    ident = await add_identity(store)
    for _ in range(n):
        await add_session(store, ident, expires=ago(hours=1))


async def _seed_events(store: Store, n: int) -> None:
    for _ in range(n):
        await add_event(store, ago(hours=2))


async def _seed_messages(store: Store, n: int) -> None:
    for _ in range(n):
        await add_message(store, "sent", ago(days=8))


BATCHES: list[tuple[Seed, Batch]] = [
    (_seed_counters, lambda s, limit: s.delete_stale_throttle_counters(ago(hours=1), limit)),
    (_seed_sessions, lambda s, limit: s.delete_stale_sessions(ago(minutes=1), ago(hours=1), limit)),
    (_seed_events, lambda s, limit: s.prune_revocations(3600, limit)),
    (_seed_messages, lambda s, limit: s.delete_finished_courier_messages(ago(days=7), limit)),
]


@pytest.mark.parametrize(("seed", "batch"), [
    pytest.param(*BATCHES[0], id="throttle counters"),
    pytest.param(*BATCHES[1], id="sessions"),
    pytest.param(*BATCHES[2], id="revocation events"),
    pytest.param(*BATCHES[3], id="courier messages"),
])
async def test_one_statement_deletes_at_most_one_batch(store: Store, seed: Seed, batch: Batch) -> None:
    await seed(store, 12)
    assert [await batch(store, 5) for _ in range(4)] == [5, 5, 2, 0]


async def test_a_run_repeats_batches_until_the_table_is_clean(store: Store) -> None:
    await _seed_counters(store, 23)
    await _seed_messages(store, 7)
    deleted = await cleanup(store, batch_size=5).run_once()
    assert deleted["throttle_counters"] == 23 and deleted["courier_messages"] == 7
    assert await ids(store, "throttle_counters", "key") == set()


async def test_a_running_gatekeeper_cleans_up_in_the_background(make_config: Callable[..., Config]) -> None:
    config = make_config({"database": {"cleanup": {"interval": "50ms", "sleep": {"tables": "0s"}}}})
    async with running_gatekeeper(config) as gk:
        store = gk.container.store
        ident = await add_identity(store)
        await add_session(store, ident, expires=ago(minutes=1))
        live = await add_session(store, ident, expires=ago(hours=-1))
        for _ in range(200):  # the first round starts one interval after start-up
            if await ids(store, "sessions") == {live}:
                break
            await asyncio.sleep(0.05)
        assert await ids(store, "sessions") == {live}
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(gk.urls["metrics"] + "/metrics")).text
        assert 'gatekeeper_cleanup_deleted_rows_total{table="sessions"} 1.0' in metrics
