"""Session revocation events: appended when sessions are revoked, read back by sequence number by every replica.

On PostgreSQL the append also sends a NOTIFY on `CHANNEL` (delivered at commit) so listening replicas poll at
once; the table is the source of truth, so a missed notification only costs the next poll.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gatekeeper.store.db import Database

CHANNEL = "gatekeeper_session_events"


class RevocationPersister:
    db: Database

    async def publish_revoked(self, hashes: list[str]) -> None:
        """Record that the sessions with these token hashes are revoked (and wake PostgreSQL listeners)."""
        if not hashes:
            return
        now = datetime.now(UTC)
        async with self.db.transaction() as tx:
            await tx.execute_many("INSERT INTO session_events (token_hash, created_at) VALUES ($1, $2)",
                                  [(h, now) for h in hashes])
            if tx.dialect == "postgres":
                await tx.execute("SELECT pg_notify($1, '')", CHANNEL)

    async def last_revocation_seq(self) -> int:
        return int(await self.db.fetch_val("SELECT COALESCE(MAX(seq), 0) FROM session_events") or 0)

    async def revocations_since(self, seq: int, overlap: float) -> list[tuple[int, str]]:
        """(sequence number, token hash) of events after `seq` and of the last `overlap` seconds, in order.

        A PostgreSQL sequence number can commit after a higher one: re-reading a short window catches it
        (callers skip the numbers they have already seen)."""
        since = datetime.now(UTC) - timedelta(seconds=overlap)
        rows = await self.db.fetch_all(
            "SELECT seq, token_hash FROM session_events WHERE seq > $1 OR created_at > $2 ORDER BY seq", seq, since)
        return [(int(r["seq"]), r["token_hash"]) for r in rows]

    async def prune_revocations(self, older_than: float, limit: int | None = None) -> int:
        """Delete events older than `older_than` seconds: all of them, or the `limit` oldest (one bounded batch)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        if limit is None:
            return await self.db.execute("DELETE FROM session_events WHERE created_at < $1", cutoff)
        return await self.db.execute(
            """DELETE FROM session_events WHERE seq IN
               (SELECT seq FROM session_events WHERE created_at < $1 ORDER BY seq LIMIT $2)""", cutoff, limit)
