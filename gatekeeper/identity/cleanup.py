"""Housekeeping: stale rows are deleted in bounded batches (every replica may run it; it is idempotent).

What goes, with `older_than` (Kratos' `database.cleanup.older_than`) added to every horizon:
- flows that expired, and error pages created, before the cut-off, but not within `FLOW_GRACE` (an expired flow
  still answers 410 with a fresh flow instead of 404 for that long);
- sessions that expired before it, and revoked sessions last changed before the revocation horizon;
- throttling counters whose window (the longest configured one) ended before it;
- revocation events older than the horizon the broadcast needs (`identity.revocation.KEEP`: a lagging replica
  still reads them);
- courier messages sent or abandoned longer ago than `keep_courier_messages`.
Each table is emptied `batch_size` rows per statement (no long locks), with `sleep.tables` between tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter

from gatekeeper.config import Config
from gatekeeper.config.database import DatabaseCleanup
from gatekeeper.config.types import Duration
from gatekeeper.errors import GatekeeperError
from gatekeeper.identity.revocation import KEEP as REVOCATION_HORIZON
from gatekeeper.store import Store

log = logging.getLogger("gatekeeper.identity.cleanup")

FLOW_GRACE = 3600.0
Batch = Callable[[datetime, int], Awaitable[int]]  # (cut-off, limit) -> rows deleted


def longest_throttle_window(config: Config) -> float:
    """The longest window a throttling counter is kept for: login throttling, or a one-time code's lifespan."""
    try:
        code = float(Duration.parse(config.selfservice.methods.code.config.get("lifespan", "1h")))
    except ValueError:  # the code strategy refuses such a config itself
        code = 3600.0
    return max(float(config.selfservice.flows.login.throttling.window), code)


class Cleanup:
    """A Service (start/stop) running `run_once` every `settings.interval` seconds (never when it is 0)."""

    def __init__(self, store: Store, settings: DatabaseCleanup, *, throttle_window: float,
                 flow_grace: float = FLOW_GRACE, registry: CollectorRegistry | None = None) -> None:
        self.store, self.settings, self.throttle_window, self.flow_grace = store, settings, throttle_window, flow_grace
        self._task: asyncio.Task[None] | None = None
        self._deleted: Counter | None = None
        self._failures: Counter | None = None
        if registry is not None:
            self._deleted = Counter("gatekeeper_cleanup_deleted_rows_total", "Stale rows the clean-up deleted",
                                    ["table"], registry=registry)
            self._failures = Counter("gatekeeper_cleanup_failures_total",
                                     "Background clean-up rounds given up because the store failed", registry=registry)

    @classmethod
    def from_config(cls, store: Store, config: Config, *, older_than: float | None = None,
                    registry: CollectorRegistry | None = None) -> Cleanup:
        settings = config.database.cleanup
        if older_than is not None:
            settings = replace(settings, older_than=Duration(older_than))
        return cls(store, settings, throttle_window=longest_throttle_window(config), registry=registry)

    def _tables(self) -> list[tuple[str, float, Batch]]:
        """(table, age past which its rows go, one batch) in clean-up order."""
        store, older = self.store, float(self.settings.older_than)

        async def sessions(cutoff: datetime, limit: int) -> int:
            revoked = cutoff - timedelta(seconds=REVOCATION_HORIZON)
            return await store.delete_stale_sessions(cutoff, revoked, limit)

        async def events(cutoff: datetime, limit: int) -> int:
            return await store.prune_revocations((datetime.now(UTC) - cutoff).total_seconds(), limit)

        async def flows(cutoff: datetime, _limit: int) -> int:
            return await store.delete_expired_flows(cutoff)  # with the error pages; one statement (flows.py)

        return [
            ("selfservice_flows", max(older, self.flow_grace), flows),
            ("sessions", older, sessions),
            ("throttle_counters", older + self.throttle_window, store.delete_stale_throttle_counters),
            ("session_events", max(older, REVOCATION_HORIZON), events),
            ("courier_messages", max(older, float(self.settings.keep_courier_messages)),
             store.delete_finished_courier_messages),
        ]

    async def run_once(self) -> dict[str, int]:
        """Delete every stale row now; returns rows deleted per table."""
        deleted: dict[str, int] = {}
        limit = self.settings.batch_size
        for i, (table, age, batch) in enumerate(self._tables()):
            if i:
                await asyncio.sleep(self.settings.sleep.tables)
            cutoff = datetime.now(UTC) - timedelta(seconds=age)  # fixed per table: new rows never extend the run
            total = 0
            while True:
                n = await batch(cutoff, limit)
                total += n
                if n < limit:
                    break
                await asyncio.sleep(0)  # let requests through between two batches
            deleted[table] = total
            if self._deleted is not None:
                self._deleted.labels(table).inc(total)
        return deleted

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.interval)
            try:
                deleted = await self.run_once()
            except GatekeeperError as exc:  # the store is down: try again next round
                if self._failures is not None:
                    self._failures.inc()
                log.warning("clean-up skipped", extra={"reason": type(exc).__name__})
                continue
            if any(deleted.values()):
                log.info("stale rows deleted", extra={"deleted": deleted})

    async def start(self) -> None:
        if self.settings.interval > 0:
            self._task = asyncio.create_task(self._loop(), name="cleanup")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
