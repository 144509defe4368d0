"""Background clean-up: flows long past their expiry are deleted (every replica may run it; it is idempotent)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from gatekeeper.errors import GatekeeperError
from gatekeeper.store import Store

log = logging.getLogger("gatekeeper.identity.cleanup")


class FlowCleanup:
    """A Service (start/stop) deleting flows that expired more than `keep` ago, every `every` seconds."""

    def __init__(self, store: Store, *, every: float = 600.0, keep: float = 3600.0) -> None:
        self.store, self.every, self.keep = store, every, keep
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        return await self.store.delete_expired_flows(datetime.now(UTC) - timedelta(seconds=self.keep))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                deleted = await self.run_once()
            except GatekeeperError as exc:  # the store is down: try again next round
                log.warning("flow clean-up skipped", extra={"reason": type(exc).__name__})
                continue
            if deleted:
                log.info("expired flows deleted", extra={"count": deleted})

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
