"""Framework-free ASGI helpers shared by the adapters (http/, proxy/): the scope keys that name a request's
route and add to its log line, the request-body buffer handlers may read, and a plain error answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Protocol

from gatekeeper.errors import PayloadTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOGGED = "gatekeeper_logged"  # attribute set on an exception once it has been logged with its traceback
ROUTE_KEY = "gatekeeper.route"  # scope key an inner app sets to name the route (e.g. the rule id)
LOG_KEY = "gatekeeper.log"  # scope key an inner app sets to add fields to the request's log line
UNMATCHED = "<unmatched>"
MAX_BUFFERED_BODY = 8 * 1024 * 1024


def route_label(scope: Scope) -> str:
    """A bounded label for the request's route: set by the inner app, or Starlette's route template."""
    label = scope.get(ROUTE_KEY)
    if label:
        return str(label)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def adopt_route(scope: Scope, child: Scope, prefix: str = "") -> None:
    """Label `scope` with the route a mounted app matched in `child` (its copy with a shorter path).

    Call it after the mounted app ran (in a `finally`), so requests under a prefix keep their route label.
    """
    label = route_label(child)
    if label != UNMATCHED:
        scope[ROUTE_KEY] = prefix + label


class Answer(Protocol):
    """A complete response known in advance (the error handlers' answers)."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Iterable[tuple[str, str]]: ...

    @property
    def body(self) -> bytes: ...


def annotate(scope: Scope, route: str | None, log_fields: dict[str, Any]) -> None:
    """Name the request's route (when known) and add fields to its access-log line."""
    if route is not None:
        scope[ROUTE_KEY] = route
    scope[LOG_KEY] = log_fields


async def send_answer(send: Send, answer: Answer) -> None:
    """Send `answer` whole, with its Content-Length."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    raw.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": raw})
    await send({"type": "http.response.body", "body": answer.body})


class BodyBuffer:
    """Reads the request body once when a handler needs it (remote authorizer); the upstream gets it replayed."""

    __slots__ = ("receive", "data", "limit")

    def __init__(self, receive: Receive, limit: int = MAX_BUFFERED_BODY) -> None:
        self.receive, self.limit = receive, limit
        self.data: bytes | None = None

    async def __call__(self) -> bytes:
        if self.data is None:
            chunks, size = [], 0
            while True:
                message = await self.receive()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.limit:
                    raise PayloadTooLarge(reason="the request body is too large to be authorized")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            self.data = b"".join(chunks)
        return self.data
