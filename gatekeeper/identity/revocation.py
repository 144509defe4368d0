"""Revocation broadcast: every replica drops revoked sessions from its cache within the revocation bound.

Publishing: `Sessions` appends the revoked token hashes to the store's `session_events` (and, on PostgreSQL,
a NOTIFY wakes every listening replica at commit). Receiving (this service): poll the events by sequence
number; on PostgreSQL a dedicated LISTEN connection triggers the poll at once, and while that connection is
down the poll runs every `FAST_POLL` seconds and the listener reconnects with backoff. SQLite (processes sharing
one file) always polls every `FAST_POLL`.

Fail closed: when a poll fails, this replica cannot know what was revoked meanwhile, so it drops its whole
session cache (lookups then need the store, and are denied while it is unreachable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge

from gatekeeper.store import Store
from gatekeeper.store.revocation import CHANNEL

log = logging.getLogger("gatekeeper.identity.revocation")

FAST_POLL = 0.25  # while nothing tells us sooner (SQLite, or the PostgreSQL listener is down)
SLOW_POLL = 1.0  # safety net while the listener is connected
POLL_TIMEOUT = 1.0  # a poll that takes longer counts as failed (the cache is dropped)
OVERLAP = 2.0  # re-read this many seconds of events: sequence numbers may commit out of order
KEEP = 3600.0  # events are pruned after this long (far beyond any cache TTL)
PRUNE_EVERY = 60.0

RevokedHandler = Callable[[list[str]], None]


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter("gatekeeper_session_revocations_received_total",
                                "Revoked sessions this replica dropped from its cache", registry=registry)
        self.listening = Gauge("gatekeeper_session_revocation_listener_up",
                               "1 while the PostgreSQL LISTEN connection is up (SQLite: always 0, polling)",
                               registry=registry, multiprocess_mode="livemin")
        self.poll_failures = Counter("gatekeeper_session_revocation_poll_failures_total",
                                     "Revocation polls that failed (the session cache is dropped each time)",
                                     registry=registry)


class RevocationBroadcast:
    """A Service: polls (and on PostgreSQL listens for) revocation events and hands them to `handlers`."""

    def __init__(self, store: Store, handlers: Iterable[RevokedHandler], on_reset: Callable[[], None],
                 registry: CollectorRegistry) -> None:
        self.store, self.handlers, self.on_reset = store, handlers, on_reset
        self.metrics = _Metrics(registry)
        self._seq: int | None = None
        self._seen: dict[int, float] = {}  # sequence numbers inside the overlap window -> when seen
        self._wake = asyncio.Event()
        self._listening = False
        self._tasks: list[asyncio.Task[None]] = []
        self._polling: asyncio.Task[None] | None = None
        self._pruned = 0.0
        self._failing = False
        self.ready = asyncio.Event()  # set once the first poll succeeded

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._poll_loop(), name="revocation-poll"))
        if self.store.dialect == "postgres":
            self._tasks.append(asyncio.create_task(self._listen_loop(), name="revocation-listen"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._polling is not None and not self._polling.done():
            self._polling.cancel()  # not awaited: it may hang on a dead connection until the pool closes

    # -- receiving -----------------------------------------------------------------------------------

    async def poll(self) -> None:
        """Read new events once and hand their hashes over (raises when the store fails)."""
        if self._seq is None:
            self._seq = await self.store.last_revocation_seq()
            self.on_reset()  # whatever was revoked before we knew the sequence is not in our cache anymore
            self.ready.set()
            return
        rows = await self.store.revocations_since(self._seq, OVERLAP)
        now = time.monotonic()
        fresh = [(seq, digest) for seq, digest in rows if seq not in self._seen]
        for seq, _ in fresh:
            self._seen[seq] = now
        for seq in [s for s, at in self._seen.items() if now - at > 2 * OVERLAP]:
            del self._seen[seq]
        if rows:
            self._seq = max(self._seq, rows[-1][0])
        if fresh:
            hashes = [digest for _, digest in fresh]
            self.metrics.received.inc(len(hashes))
            for handler in list(self.handlers):
                try:
                    handler(hashes)
                except Exception:  # noqa: BLE001 - one broken subscriber must not stop the broadcast
                    log.exception("revocation handler failed")

    async def _poll_in_time(self) -> None:
        """`poll()`, failing after POLL_TIMEOUT: a blackholed store must not stall the bound. (Not wait_for: it
        would wait for the cancellation, which asyncpg sends over a new connection into the same black hole.)"""
        if self._polling is None or self._polling.done():
            self._polling = asyncio.create_task(self.poll())
        done, _ = await asyncio.wait({self._polling}, timeout=POLL_TIMEOUT)
        if not done:
            self._polling.cancel()  # next time round, if it is still hanging, this counts as failed again
            raise TimeoutError("the revocation poll did not answer in time")
        self._polling.result()

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self._poll_in_time()
                if time.monotonic() - self._pruned > PRUNE_EVERY:
                    self._pruned = time.monotonic()
                    await self.store.prune_revocations(KEEP)
                if self._failing:
                    self._failing = False
                    log.info("revocation poll recovered")
            except Exception as exc:  # noqa: BLE001 - cannot tell what was revoked: fail closed
                self.metrics.poll_failures.inc()
                self.on_reset()
                if not self._failing and self.ready.is_set():  # before the first success: still connecting
                    self._failing = True
                    log.warning("revocation poll failed: session cache dropped until the store answers",
                                extra={"error": type(exc).__name__})
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SLOW_POLL if self._listening else FAST_POLL)

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def _listen_loop(self) -> None:
        dsn = getattr(self.store.db, "dsn", None)
        delay = 0.25
        while True:
            conn = None
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(dsn, timeout=3)
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._notified)
                self._listening, delay = True, 0.25
                self.metrics.listening.set(1)
                self._wake.set()  # catch up on what happened while we were not listening
                while not conn.is_closed() and not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 5.0)
                    if not lost.is_set():
                        await conn.execute("SELECT 1", timeout=3)  # notice a silently dead connection
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: poll fast and reconnect with backoff
                log.warning("revocation listener down: polling", extra={"error": type(exc).__name__,
                                                                         "retry_in_s": delay})
            finally:
                self._listening = False
                self.metrics.listening.set(0)
                self._wake.set()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
