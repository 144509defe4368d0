"""Reading a throttle counter without counting a hit (production code only ever counts: `Store.hit`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gatekeeper.store import Store


async def attempts(store: Store, key: str, window: float) -> int:
    """Attempts counted against `key` in the current window."""
    expired = datetime.now(UTC) - timedelta(seconds=window)
    hits = await store.db.fetch_val(
        "SELECT hits FROM throttle_counters WHERE key = $1 AND window_start > $2", key, expired)
    return int(hits or 0)
