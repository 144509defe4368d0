"""Cross-replica session revocation: PostgreSQL LISTEN/NOTIFY on one channel (SQLite is one node: no-op).

A replica that revokes sessions announces their token hashes; every replica (itself included) drops them
from its session cache. When the listening connection is lost, the cache is cleared (notifications may
have been missed) and the listener reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from gatekeeper.store.db import Database

log = logging.getLogger("gatekeeper.store.revocations")

CHANNEL = "gatekeeper_session_revoked"
_PER_NOTIFY = 100  # 100 hex SHA-256 digests stay well under PostgreSQL's 8000-byte payload limit


async def announce_revoked(db: Database, hashes: list[str]) -> None:
    """Tell every replica that these sessions (by token hash) are revoked."""
    if db.dialect != "postgres":
        return
    for i in range(0, len(hashes), _PER_NOTIFY):
        await db.execute("SELECT pg_notify($1, $2)", CHANNEL, ",".join(hashes[i:i + _PER_NOTIFY]))


class RevocationListener:
    """A Service: listens on the channel and calls `on_revoked(hashes)`; `on_reset()` after a lost connection."""

    def __init__(self, db: Database, on_revoked: Callable[[list[str]], None], on_reset: Callable[[], None]) -> None:
        self.db, self.on_revoked, self.on_reset = db, on_revoked, on_reset
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.on_revoked([h for h in payload.split(",") if h])

    async def _run(self) -> None:
        dsn = getattr(self.db, "dsn", None)
        delay = 0.5
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(dsn, timeout=5)
                await conn.add_listener(CHANNEL, self._notified)
                self.on_reset()  # anything revoked while we were not listening is forgotten too
                self.listening.set()
                delay = 0.5
                while not conn.is_closed():
                    await asyncio.sleep(1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect with backoff
                log.warning("session revocation listener disconnected", extra={"error": type(exc).__name__,
                                                                               "retry_in_s": delay})
            finally:
                self.listening.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)
            self.on_reset()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def start(self) -> None:
        if self.db.dialect == "postgres":
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
