"""Fixed-window attempt counters shared by every replica (login and code throttling)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gatekeeper.store.db import Database


class ThrottlePersister:
    db: Database

    async def hit(self, key: str, window: float) -> tuple[int, datetime]:
        """Count one attempt against `key`; returns attempts in the current window and when it ends."""
        now = datetime.now(UTC)
        expired = now - timedelta(seconds=window)
        row = await self.db.fetch_one(
            """INSERT INTO throttle_counters (key, window_start, hits) VALUES ($1, $2, 1)
               ON CONFLICT (key) DO UPDATE SET
                 hits = CASE WHEN throttle_counters.window_start <= $3 THEN 1
                             ELSE throttle_counters.hits + 1 END,
                 window_start = CASE WHEN throttle_counters.window_start <= $3 THEN $2
                                     ELSE throttle_counters.window_start END
               RETURNING hits, window_start""",
            key, now, expired,
        )
        assert row is not None
        return row["hits"], row["window_start"] + timedelta(seconds=window)

    async def reset(self, key: str) -> None:
        await self.db.execute("DELETE FROM throttle_counters WHERE key = $1", key)

    async def delete_stale_throttle_counters(self, started_before: datetime, limit: int) -> int:
        """Delete up to `limit` counters whose window started before `started_before` (one bounded statement)."""
        return await self.db.execute(
            """DELETE FROM throttle_counters WHERE key IN
               (SELECT key FROM throttle_counters WHERE window_start < $1 LIMIT $2)""", started_before, limit)
