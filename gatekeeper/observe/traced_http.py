"""Outbound HTTP with spans, wired only when tracing is on: `TracedTransport` wraps the transport of gatekeeper's
shared client (remote authorizers, the hydrator, session checks, web hooks, JWKS, OIDC providers...), so each
request made inside a trace gets a client span named `<METHOD>` and carries that span's `traceparent`/`tracestate`
(replacing any copy it had). Outside any trace (polling, start-up) a request is sent as it is, with no span."""

from __future__ import annotations

import httpx

from gatekeeper.observe.tracing import Attributes, Tracer

_CONTEXT_HEADERS = ("traceparent", "tracestate")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def shown_url(url: httpx.URL) -> str:
    """`url.full` without secrets: no user info, and every query value replaced by `REDACTED` (a token in
    `?access_token=` or a query the hydrator forwards is never recorded)."""
    query = [(name, "REDACTED") for name, _ in url.params.multi_items()]
    return str(url.copy_with(userinfo=b"", params=query or None, fragment=None))


class TracedTransport(httpx.AsyncBaseTransport):
    """`inner` with a client span around each request sent inside a trace (semantic-convention attributes);
    a transport error leaving it marks the span failed, as does a 5xx answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport, tracer: Tracer) -> None:
        self.inner, self.tracer = inner, tracer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.tracer.in_trace():
            return await self.inner.handle_async_request(request)
        url = request.url
        attributes: Attributes = {"http.request.method": request.method, "server.address": url.host,
                                  "server.port": url.port or _DEFAULT_PORTS.get(url.scheme, 0),
                                  "url.full": shown_url(url)}
        with self.tracer.client(request.method, attributes) as span:
            for name in _CONTEXT_HEADERS:
                request.headers.pop(name, None)
            for key, value in self.tracer.propagation():
                request.headers[key.decode("latin-1")] = value.decode("latin-1")
            response = await self.inner.handle_async_request(request)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                self.tracer.fail(span, f"answered {response.status_code}")
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()
