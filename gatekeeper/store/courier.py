"""The courier outbox: messages `queued -> processing -> sent | abandoned`, and one dispatch row per attempt.

Workers claim due messages atomically (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas never
claim the same row; SQLite: the single writer serialises claims). A claim is a lease: a message whose
worker died is claimed again once `claimed_until` has passed. Every write that ends a claim is
conditional on the claim token, so a worker that lost its lease cannot overwrite a newer claim.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from gatekeeper.store.db import Database, Row

MessageStatus = Literal["queued", "processing", "sent", "abandoned"]
DispatchStatus = Literal["failed", "success"]

_COLUMNS = ("id, type, channel, status, recipient, subject, body, body_html, template_type, template_data, "
            "send_count, next_attempt_at, created_at, updated_at")
_DUE = """(status = 'queued' AND next_attempt_at <= $3) OR (status = 'processing' AND claimed_until <= $3)"""


@dataclass(frozen=True)
class CourierDispatch:
    """One delivery attempt (Kratos' `messageDispatch`)."""

    id: str
    message_id: str
    status: DispatchStatus
    error: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CourierMessage:
    """A message in the outbox (Kratos' `message`); `body` is plain text, `body_html` its HTML alternative."""

    id: str
    type: str
    channel: str
    status: MessageStatus
    recipient: str
    subject: str
    body: str
    body_html: str
    template_type: str
    template_data: dict[str, Any]
    send_count: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    dispatches: tuple[CourierDispatch, ...] = ()


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _message(row: Row, dispatches: tuple[CourierDispatch, ...] = ()) -> CourierMessage:
    return CourierMessage(
        id=str(row["id"]), type=row["type"], channel=row["channel"], status=row["status"],
        recipient=row["recipient"], subject=row["subject"], body=row["body"], body_html=row["body_html"],
        template_type=row["template_type"], template_data=json.loads(row["template_data"]),
        send_count=row["send_count"], next_attempt_at=_time(row["next_attempt_at"]),
        created_at=_time(row["created_at"]), updated_at=_time(row["updated_at"]), dispatches=dispatches)


def _dispatch(row: Row) -> CourierDispatch:
    return CourierDispatch(
        id=str(row["id"]), message_id=str(row["message_id"]), status=row["status"],
        error=json.loads(row["error"]) if row["error"] else None,
        created_at=_time(row["created_at"]), updated_at=_time(row["updated_at"]))


class CourierPersister:
    db: Database

    async def add_courier_message(self, *, recipient: str, subject: str, body: str, body_html: str,
                                  template_type: str, template_data: dict[str, Any],
                                  type: str = "email", channel: str = "email") -> CourierMessage:
        """Queue a message for immediate delivery."""
        now = datetime.now(UTC)
        row = await self._write_one(
            f"""INSERT INTO courier_messages (id, type, channel, status, recipient, subject, body, body_html,
                  template_type, template_data, send_count, next_attempt_at, created_at, updated_at)
                VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, 0, $10, $10, $10)
                RETURNING {_COLUMNS}""",  # noqa: S608 - fixed fragments
            str(uuid.uuid4()), type, channel, recipient, subject, body, body_html, template_type,
            json.dumps(template_data, default=str), now)
        return _message(row)

    async def claim_courier_messages(self, *, limit: int, lease: float, token: str) -> list[CourierMessage]:
        """Mark up to `limit` due messages `processing` under `token`, counting one send each; oldest first.

        Due: queued and past their backoff, or processing under a lease that has run out.
        """
        now = datetime.now(UTC)
        lock = " FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgres" else ""
        async with self.db.transaction() as tx:
            rows = await tx.fetch_all(
                f"""UPDATE courier_messages
                    SET status = 'processing', send_count = send_count + 1, claim_token = $1,
                        claimed_until = $2, updated_at = $3
                    WHERE id IN (SELECT id FROM courier_messages WHERE {_DUE}
                                 ORDER BY created_at, id LIMIT $4{lock})
                    RETURNING {_COLUMNS}""",  # noqa: S608 - fixed fragments
                token, now + timedelta(seconds=lease), now, limit)
        return sorted((_message(r) for r in rows), key=lambda m: (m.created_at, m.id))

    async def renew_courier_claim(self, token: str, lease: float) -> int:
        """Extend the lease of every message still processing under `token`; returns how many."""
        return await self.db.execute(
            "UPDATE courier_messages SET claimed_until = $2 WHERE claim_token = $1 AND status = 'processing'",
            token, datetime.now(UTC) + timedelta(seconds=lease))

    async def finish_courier_attempt(self, message_id: str, token: str, *, status: MessageStatus,
                                     dispatch: DispatchStatus, error: dict[str, Any] | None = None,
                                     next_attempt_at: datetime | None = None) -> bool:
        """Record one attempt and move the message on (`sent`, `abandoned` or back to `queued`).

        The attempt is always recorded; the status changes only while `token` still holds the claim
        (returns whether it did).
        """
        now = datetime.now(UTC)
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                """UPDATE courier_messages
                   SET status = $3, next_attempt_at = COALESCE($4, next_attempt_at), claim_token = NULL,
                       claimed_until = NULL, updated_at = $5
                   WHERE id = $1 AND claim_token = $2 AND status = 'processing'""",
                message_id, token, status, next_attempt_at, now)
            await tx.execute(
                """INSERT INTO courier_message_dispatches (id, message_id, status, error, created_at, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $5)""",
                str(uuid.uuid4()), message_id, dispatch, json.dumps(error) if error else None, now)
        return changed > 0

    async def release_courier_claim(self, token: str) -> int:
        """Put messages claimed under `token` but never attempted back in the queue (a worker stopping)."""
        return await self.db.execute(
            """UPDATE courier_messages SET status = 'queued', send_count = send_count - 1, claim_token = NULL,
                 claimed_until = NULL, updated_at = $2
               WHERE claim_token = $1 AND status = 'processing'""",
            token, datetime.now(UTC))

    async def courier_backlog(self) -> dict[str, tuple[int, datetime | None]]:
        """For `queued` and `processing`: how many messages, and when the oldest was created."""
        rows = await self.db.fetch_all(
            """SELECT status, count(*) AS n, min(created_at) AS oldest FROM courier_messages
               WHERE status IN ('queued', 'processing') GROUP BY status""")
        found = {row["status"]: (int(row["n"]), _time(row["oldest"])) for row in rows}
        return {status: found.get(status, (0, None)) for status in ("queued", "processing")}

    async def courier_message(self, message_id: str) -> CourierMessage | None:
        """One message with its dispatches, newest first (Kratos' order)."""
        row = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM courier_messages WHERE id = $1",  # noqa: S608
                                      message_id)
        if row is None:
            return None
        rows = await self.db.fetch_all(
            "SELECT * FROM courier_message_dispatches WHERE message_id = $1 ORDER BY created_at DESC, id",
            message_id)
        return _message(row, tuple(_dispatch(r) for r in rows))

    async def courier_messages(self, *, status: MessageStatus | None = None, recipient: str | None = None,
                               limit: int = 250, after: tuple[datetime, str] | None = None) -> list[CourierMessage]:
        """Messages newest first, optionally filtered; `after` = (created_at, id) of the previous page's last."""
        where, args = ["TRUE"], []  # type: list[str], list[Any]
        for column, value in (("status", status), ("recipient", recipient)):
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        if after is not None:
            args.extend(after)
            n = len(args)
            where.append(f"(created_at < ${n - 1} OR (created_at = ${n - 1} AND id > ${n}))")
        args.append(limit)
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM courier_messages WHERE {' AND '.join(where)} "  # noqa: S608 - fixed fragments
            f"ORDER BY created_at DESC, id LIMIT ${len(args)}", *args)
        return [_message(r) for r in rows]

    async def delete_finished_courier_messages(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` sent or abandoned messages (and their dispatches) last changed before `before`."""
        return await self.db.execute(
            """DELETE FROM courier_messages WHERE id IN
               (SELECT id FROM courier_messages WHERE status IN ('sent', 'abandoned') AND updated_at < $1
                ORDER BY updated_at LIMIT $2)""", before, limit)

    async def _write_one(self, sql: str, *args: Any) -> Row:
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(sql, *args)
        assert row is not None
        return row
