"""Long-lived proxied connections (WebSocket, SSE) and the session each was let through with.

The proxy registers a connection with `watch(session)` and gets an event that is set when the session ends:
at its `expires_at`, or when a re-check says it is no longer active. Re-checks run for every watched connection
when any session is revoked anywhere (`revoked`, subscribed to the revocation broadcast, see
identity/revocation.py) and every `recheck_every` seconds as a safety net. A re-check that cannot reach the store
ends the connection (fail closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

from gatekeeper.access.handlers import AuthSession

log = logging.getLogger("gatekeeper.proxy")


class _Watched:
    __slots__ = ("session", "ended", "timer")

    def __init__(self, session: AuthSession) -> None:
        self.session, self.ended = session, asyncio.Event()
        self.timer: asyncio.TimerHandle | None = None


class LiveConnections:
    """A Service: the registry of long-lived connections per session, and the re-checks that end them."""

    def __init__(self, registry: CollectorRegistry, *, recheck_every: float = 60.0) -> None:
        self.recheck_every = recheck_every
        self._watched: set[_Watched] = set()
        self._task: asyncio.Task[None] | None = None
        self._pending: asyncio.Task[None] | None = None
        self._again = False
        self.open = Gauge("gatekeeper_proxy_long_lived_connections",
                          "WebSocket/SSE connections held open for a session", registry=registry,
                          multiprocess_mode="livesum")
        self.closed = Counter("gatekeeper_proxy_long_lived_closed_total",
                              "Long-lived connections closed because their session ended", ["reason"],
                              registry=registry)

    @contextlib.asynccontextmanager
    async def watch(self, session: AuthSession) -> AsyncIterator[asyncio.Event]:
        """Yields an event set when `session` ends; sessions no authenticator can re-check are never ended."""
        entry = _Watched(session)
        if session.still_valid is not None:
            left = _seconds_until(session.expires_at)
            if left is not None:
                entry.timer = asyncio.get_running_loop().call_later(max(left, 0.0), self._end, entry, "expired")
            self._watched.add(entry)
            self.open.inc()
        try:
            yield entry.ended
        finally:
            if entry in self._watched:
                self._watched.discard(entry)
                self.open.dec()
            if entry.timer is not None:
                entry.timer.cancel()

    def _end(self, entry: _Watched, reason: str) -> None:
        if not entry.ended.is_set():
            entry.ended.set()
            self.closed.labels(reason).inc()

    def revoked(self, hashes: list[str]) -> None:
        """Some session was revoked somewhere: re-check every watched connection (coalesced: one more round
        when revocations arrive during a re-check, which may already have passed their connections)."""
        if not self._watched:
            return
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._rechecks())
        else:
            self._again = True

    async def _rechecks(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            await self.recheck()

    async def recheck(self) -> None:
        for entry in list(self._watched):
            check = entry.session.still_valid
            if check is not None and not entry.ended.is_set() and not await check():
                self._end(entry, "revoked")

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_every)
            try:
                await self.recheck()
            except Exception:  # noqa: BLE001 - keep re-checking
                log.exception("long-lived connection re-check failed")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._every())

    async def stop(self) -> None:
        for task in (self._task, self._pending):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _seconds_until(rfc3339: str) -> float | None:
    if not rfc3339:
        return None
    try:
        return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() - time.time()
    except ValueError:
        return None
