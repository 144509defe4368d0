"""The request observer every listener is wrapped in: request id, one access-log line, request metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from gatekeeper.asgi import LOG_KEY, LOGGED, ASGIApp, Message, Receive, Scope, Send, route_label
from gatekeeper.observe import Metrics, RequestLog


class RequestObserver:
    """Pure ASGI middleware: request id, one access-log line, request metrics (observe.RequestLog)."""

    def __init__(self, app: ASGIApp, *, listener: str, metrics: Metrics,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.app, self.listener, self.clock = app, listener, clock
        self.log = RequestLog(listener, metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        start = self.clock()
        request_id = self.log.request_id(scope.get("headers", ()))
        scope["request_id"] = request_id
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if not status:  # nothing answered yet: let the server send its 500
                raise
            # Starlette re-raises after its handler answered and logged the error: log once, never twice.
            if not getattr(exc, LOGGED, False):
                logging.getLogger("gatekeeper").error(
                    "request failed after its response started", exc_info=exc,
                    extra={"request_id": request_id, "listener": self.listener, "path": scope.get("path", "")})
        finally:
            self.log.done(request_id, scope.get("method", "WS"), scope.get("path", ""), route_label(scope),
                          status or (101 if scope["type"] == "websocket" else 500), self.clock() - start,
                          scope.get(LOG_KEY))
