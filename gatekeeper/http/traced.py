"""A server span per request on an ASGI listener (admin), wired only when tracing is on: named
`<method> <route>`, continuing the caller's W3C trace context, with semantic-convention attributes."""

from __future__ import annotations

from gatekeeper.asgi import ASGIApp, Message, Receive, Scope, Send, route_label
from gatekeeper.observe.tracing import Tracer


class TracedAsgi:
    """Pure ASGI middleware around `app`; lifespan and other scopes pass untouched."""

    def __init__(self, app: ASGIApp, tracer: Tracer, *, listener: str) -> None:
        self.app, self.tracer, self.listener = app, tracer, listener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        server = scope.get("server") or ("", 0)
        client = scope.get("client") or ("", 0)
        attributes = {"http.request.method": method, "url.path": scope["path"], "url.scheme": scope["scheme"],
                      "server.port": server[1] or 0, "client.address": client[0], "gatekeeper.listener": self.listener,
                      "gatekeeper.request_id": scope.get("request_id", "")}
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracer.server(method, scope.get("headers", ()), attributes) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = route_label(scope)
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                if status:
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        self.tracer.fail(span, f"answered {status}")
