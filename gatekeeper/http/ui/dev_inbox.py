"""The development inbox (`--dev` only): what the courier sent (e-mail and SMS), newest first, at `<public>/.dev/inbox`.

The role Mailslurper plays in Kratos' quickstart, without a mail server: the outbox already keeps every message
in the store, so this page only reads it. Links are clickable and a click on a one-time code selects it whole
for copying (the pages run no JavaScript). The route exists only when gatekeeper runs with `--dev`.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatekeeper.asgi import ROUTE_KEY
from gatekeeper.http.ui import render
from gatekeeper.identity.context import IdentityContext
from gatekeeper.store.courier import CourierMessage

SHOWN = 50
_TOKENS = re.compile(r"(?P<link>https?://[^\s<>\"']+)|(?P<code>\b\d{6}\b)")


def segments(body: str) -> list[tuple[str, str]]:
    """The body cut into ("text" | "link" | "code", value) pieces, for the template to escape and mark up."""
    out: list[tuple[str, str]] = []
    at = 0
    for match in _TOKENS.finditer(body):
        if match.start() > at:
            out.append(("text", body[at:match.start()]))
        out.append(("link", match["link"]) if match["link"] else ("code", match["code"]))
        at = match.end()
    if at < len(body):
        out.append(("text", body[at:]))
    return out


def _view(message: CourierMessage) -> dict[str, Any]:
    subject = message.subject or f"Text message ({message.channel})"
    return {"id": message.id, "recipient": message.recipient, "subject": subject,
            "template_type": message.template_type, "status": str(message.status),
            "created_at": message.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"), "segments": segments(message.body)}


class DevInbox:
    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    async def inbox(self, request: Request) -> Response:
        request.scope[ROUTE_KEY] = "/.dev/inbox"
        recipient = request.query_params.get("to") or None
        messages = await self.ctx.store.courier_messages(recipient=recipient, limit=SHOWN)
        return render(self.ctx, "dev_inbox.html", messages=[_view(m) for m in messages], recipient=recipient or "")

    def routes(self) -> list[BaseRoute]:
        """The inbox route under `--dev`; none otherwise (the path answers 404)."""
        return [Route("/.dev/inbox", self.inbox, methods=["GET"])] if self.ctx.config.dev else []
