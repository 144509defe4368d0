"""Request accounting for data-plane handlers, as the ASGI listeners have it: a request id (the caller's, or a
new one) echoed as `X-Request-Id`, the request metrics, and one access-log line carrying the route and the
fields the handler adds (the access decision)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from gatekeeper.asgi import UNMATCHED
from gatekeeper.dataplane import ClientDisconnected, Request, Responder
from gatekeeper.observe import RequestLog


class Exchange:
    """What a handler tells the accounting about its request: the route label and extra log fields."""

    __slots__ = ("request_id", "route", "fields")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.route = UNMATCHED
        self.fields: dict[str, Any] | None = None


ObservedHandler = Callable[[Request, Responder, Exchange], Awaitable[None]]


class Observed:
    """A data-plane handler (`(request, responder)`) around an observed one (`(request, responder, exchange)`)."""

    __slots__ = ("inner", "log", "clock")

    def __init__(self, inner: ObservedHandler, log: RequestLog, clock: Callable[[], float] = time.perf_counter) -> None:
        self.inner, self.log, self.clock = inner, log, clock

    async def __call__(self, request: Request, responder: Responder) -> None:
        start = self.clock()
        exchange = Exchange(self.log.request_id(request.headers))
        responder.extra_headers = ((b"x-request-id", exchange.request_id.encode("latin-1")),)
        status = 0
        try:
            await self.inner(request, responder, exchange)
        except ClientDisconnected:
            status = 499  # the client left before its answer (nginx's code for it)
            raise
        finally:
            # started: what was sent; otherwise the server answers 500 (the handler failed or answered nothing)
            status = responder.status if responder.started else status or 500
            self.log.done(exchange.request_id, request.method.decode("latin-1"), request.path.decode("latin-1"),
                          exchange.route, status, self.clock() - start, exchange.fields)
