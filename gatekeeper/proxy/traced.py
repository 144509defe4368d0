"""The data plane with spans, wired only when tracing is on: a server span per request on a data-plane listener
(continuing the caller's W3C trace context), and a client span per upstream call whose context, not the
client's, is what the upstream receives in `traceparent`/`tracestate`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gatekeeper.config.serve import ProxyUpstream
from gatekeeper.dataplane import Request, Responder
from gatekeeper.observe.tracing import Attributes, Tracer
from gatekeeper.proxy.forward import Forwarder, Sink
from gatekeeper.proxy.observed import Exchange, ObservedHandler

_CONTEXT_HEADERS = (b"traceparent", b"tracestate")


class Traced:
    """An observed handler inside a server span named `<method> <route>` (semantic-convention attributes)."""

    __slots__ = ("inner", "tracer", "listener")

    def __init__(self, inner: ObservedHandler, tracer: Tracer, listener: str) -> None:
        self.inner, self.tracer, self.listener = inner, tracer, listener

    async def __call__(self, request: Request, responder: Responder, exchange: Exchange) -> None:
        method = request.method.decode("latin-1")
        attributes: Attributes = {"http.request.method": method, "url.path": request.path.decode("latin-1"),
                      "url.scheme": "http", "server.port": request.server[1], "client.address": request.client[0],
                      "gatekeeper.listener": self.listener, "gatekeeper.request_id": exchange.request_id}
        with self.tracer.server(method, request.headers, attributes) as span:
            try:
                await self.inner(request, responder, exchange)
            finally:
                span.update_name(f"{method} {exchange.route}")
                span.set_attribute("http.route", exchange.route)
                if responder.started:
                    span.set_attribute("http.response.status_code", responder.status)
                    if responder.status >= 500:
                        self.tracer.fail(span, f"answered {responder.status}")


class TracedForwarder(Forwarder):
    """The upstream client with a client span around each forwarded request (its body streamed both ways)."""

    def __init__(self, upstream: ProxyUpstream, tracer: Tracer) -> None:
        super().__init__(upstream)
        self.tracer = tracer

    async def forward(self, method: str, origin: str, target: str, headers: list[tuple[bytes, bytes]],
                      stream: AsyncIterator[bytes] | None, sink: Sink, *, body: bytes | None) -> int:
        host, port, tls = self._origin(origin)
        attributes: Attributes = {"http.request.method": method, "server.address": host, "server.port": port,
                      "url.scheme": "https" if tls else "http", "url.path": target.split("?", 1)[0]}
        with self.tracer.client("upstream", attributes) as span:
            headers = [(k, v) for k, v in headers if k not in _CONTEXT_HEADERS]
            headers.extend(self.tracer.propagation())
            status = await super().forward(method, origin, target, headers, stream, sink, body=body)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                self.tracer.fail(span, f"the upstream answered {status}")
            return status
