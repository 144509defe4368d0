"""The request observer every listener is wrapped in: request id, one access-log line, request metrics."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from gatekeeper.asgi import LOG_KEY, LOGGED, ASGIApp, Message, Receive, Scope, Send, route_label
from gatekeeper.observe import Metrics

access_log = logging.getLogger("gatekeeper.access_log")


class RequestObserver:
    """Pure ASGI middleware: request id, one access-log line, request metrics. Never logs credentials."""

    def __init__(self, app: ASGIApp, *, listener: str, metrics: Metrics,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.app, self.listener, self.metrics, self.clock = app, listener, metrics, clock
        self._requests = metrics.requests
        self._seconds = metrics.request_seconds
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}  # bounded like the label sets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        start = self.clock()
        request_id = _request_id(scope)
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
            elapsed = self.clock() - start
            route = route_label(scope)
            method = scope.get("method", "WS")
            status_text = str(status or (101 if scope["type"] == "websocket" else 500))
            children = self._children.get((route, method, status_text))
            if children is None:  # .labels() costs microseconds per call: resolve each series once
                children = self._children[(route, method, status_text)] = (
                    self._requests.labels(self.listener, route, method, status_text),
                    self._seconds.labels(self.listener, route))
            children[0].inc()
            children[1].observe(elapsed)
            extra = {"request_id": request_id, "listener": self.listener, "method": method,
                     "path": scope.get("path", ""), "route": route, "status": int(status_text),
                     "duration_ms": round(elapsed * 1000, 3)}
            details = scope.get(LOG_KEY)
            if details:  # e.g. the access decision (rule, subject, handlers, reason): one line per request
                extra.update(details)
            access_log.info("request", extra=extra)


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            text = str(value.decode("latin-1"))
            if 0 < len(text) <= 128 and text.isprintable():
                return text
    return os.urandom(16).hex()
