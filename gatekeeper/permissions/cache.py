"""This replica's recent check answers (`limit.check_cache_ttl`, `limit.check_cache_size`).

An answer is kept for the TTL less up to a fifth at random (answers computed together, as after a clear, then
expire spread out instead of all at once), the least recently used going first beyond the size. Past three
quarters of its life it is "due": still answered, while the engine computes its successor in the background (a
popular answer is renewed before it expires, and no request waits for it). Any tuple write
clears the whole cache: on this replica at once (`RelationTuples`), on the others when the announcement reaches
them (the composition root carries it over the store's revocation broadcast, under a second on PostgreSQL's
LISTEN/NOTIFY and within the polling interval otherwise); a broadcast that cannot be read clears it too (fail
closed). A check that started before a clear does not store its answer, which may predate the write. Errors are
never cached.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import NamedTuple

JITTER = 0.2
"""The share of the TTL an answer may expire early."""
DUE = 0.75
"""The share of its life after which an answer is due for renewal."""


class Cached(NamedTuple):
    allowed: bool
    due: bool  # past three quarters of its life: renew it in the background

class CheckCache:
    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._size, self._clock = ttl, size, clock
        self._entries: OrderedDict[Hashable, tuple[float, float, bool]] = OrderedDict()  # due at, expires at
        self.generation = 0  # bumped by every clear

    def get(self, key: Hashable) -> Cached | None:
        """The cached answer, or None when there is none younger than its life."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self._clock()
        if now >= entry[1]:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return Cached(entry[2], now >= entry[0])

    def put(self, key: Hashable, allowed: bool, generation: int) -> None:
        """Keep an answer computed since `generation` (dropped when a clear came in between)."""
        if generation != self.generation or self._ttl <= 0:
            return
        now, life = self._clock(), self._ttl * (1 - JITTER * random.random())  # noqa: S311 - not a secret
        self._entries[key] = (now + DUE * life, now + life, allowed)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1
