"""Kratos' `message` JSON for an outbox message (what `GET /admin/courier/messages` serves as-is)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gatekeeper.store.courier import CourierDispatch, CourierMessage


def timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as Go marshals `time.Time`."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def dispatch_json(dispatch: CourierDispatch) -> dict[str, Any]:
    body: dict[str, Any] = {"id": dispatch.id, "message_id": dispatch.message_id, "status": dispatch.status,
                            "created_at": timestamp(dispatch.created_at), "updated_at": timestamp(dispatch.updated_at)}
    if dispatch.error is not None:
        body["error"] = dispatch.error
    return body


def message_json(message: CourierMessage) -> dict[str, Any]:
    """`{id, status, type, channel, recipient, subject, body, template_type, send_count, dispatches?, ...}`.

    `dispatches` is omitted when there are none (Kratos' `omitempty`); the HTML body is not part of it.
    """
    body: dict[str, Any] = {
        "id": message.id, "status": message.status, "type": message.type, "channel": message.channel,
        "recipient": message.recipient, "subject": message.subject, "body": message.body,
        "template_type": message.template_type, "send_count": message.send_count,
        "created_at": timestamp(message.created_at), "updated_at": timestamp(message.updated_at),
    }
    if message.dispatches:
        body["dispatches"] = [dispatch_json(d) for d in message.dispatches]
    return body
