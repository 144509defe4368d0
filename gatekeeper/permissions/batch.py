"""Reads of one check, coalesced: the steps of a check start concurrently (a union's members, a traversal's
subject sets), and the reads they ask for while the event loop is busy starting them go to the store as one
statement. A 3-level folder traversal then costs a statement per level instead of one per relation."""

from __future__ import annotations

import asyncio

from gatekeeper.permissions.ports import TupleStore
from gatekeeper.store.relation_tuples import Lookup, LookupRequest

SETTLE = 3
"""Loop iterations without a new read before the batch is sent: enough for concurrently started steps to reach
their reads (each nesting level of a rewrite starts its children one iteration later)."""


class ReadBatcher:
    """Collects `read` requests until the loop has settled, then sends them in one `lookup_many` (identical
    requests once). A step that no longer needs its read abandons it; the statement still runs to its end
    (cancelling a PostgreSQL query costs a connection of its own) and errors reach every waiting step."""

    def __init__(self, store: TupleStore, reads: asyncio.Semaphore) -> None:
        self._store, self._reads = store, reads
        self._pending: dict[LookupRequest, list[asyncio.Future[Lookup]]] = {}
        self._idle = 0
        self._scheduled = False
        self._flushing: set[asyncio.Task[None]] = set()

    def read(self, request: LookupRequest) -> asyncio.Future[Lookup]:
        future: asyncio.Future[Lookup] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(request, []).append(future)
        self._idle = 0
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._settle)
        return future

    def _settle(self) -> None:
        self._idle += 1
        if self._idle < SETTLE:
            asyncio.get_running_loop().call_soon(self._settle)
            return
        self._scheduled = False
        batch, self._pending = self._pending, {}
        task = asyncio.ensure_future(self._send(batch))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _send(self, batch: dict[LookupRequest, list[asyncio.Future[Lookup]]]) -> None:
        wanted = {request: futures for request, futures in batch.items() if not all(f.done() for f in futures)}
        if not wanted:
            return
        try:
            async with self._reads:
                answers = await self._store.lookup_many(list(wanted))
        except Exception as exc:  # noqa: BLE001 - handed to every step waiting for it
            for futures in wanted.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        for answer, futures in zip(answers, wanted.values(), strict=True):
            for future in futures:
                if not future.done():
                    future.set_result(answer)
