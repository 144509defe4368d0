"""The `:4455` listener on the data-plane server: the identity API and UI under the prefix (whoami answered
directly, the rest through the ASGI bridge to the same Starlette routes as `:4433`), health, and every other
request through the access rules to its upstream."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gatekeeper.access.errors.json import render_json
from gatekeeper.access.handlers import AuthSession
from gatekeeper.access.pipeline import Pipeline, render_bad_request
from gatekeeper.access.repository import RuleRepository
from gatekeeper.access.request_view import drop_headers, parse_networks, proxy_view
from gatekeeper.config.cors import CorsPolicy
from gatekeeper.dataplane import Request, Responder
from gatekeeper.errors import GatekeeperError, Unauthorized
from gatekeeper.identity.whoami import Whoami
from gatekeeper.proxy.answer import answer, decide, refuse
from gatekeeper.proxy.body import RequestBody
from gatekeeper.proxy.bridge import Bridge
from gatekeeper.proxy.forward import Forwarder
from gatekeeper.proxy.health import Health
from gatekeeper.proxy.listeners import answers_whoami
from gatekeeper.proxy.live import LiveConnections
from gatekeeper.proxy.observed import Exchange
from gatekeeper.proxy.tunnel import Tunnels
from gatekeeper.proxy.upstream_request import upstream_headers, upstream_target

log = logging.getLogger("gatekeeper.proxy")


class ProxyHandler:
    """Tables are built here; `__call__` does only per-request work."""

    def __init__(self, *, identity: Bridge, whoami: Whoami, health: Health, repository: RuleRepository,
                 pipeline: Pipeline, forwarder: Forwarder, live: LiveConnections, tunnels: Tunnels, prefix: str,
                 trusted_proxies: tuple[str, ...], strip_headers: frozenset[bytes], cors: bool,
                 app_cors: CorsPolicy | None = None) -> None:
        """`cors`: the identity routes answer cross-origin requests; `app_cors`: Oathkeeper's `serve.proxy.cors`
        for everything else (None when off)."""
        self.identity, self.whoami, self.health = identity, whoami, health
        self.repository, self.pipeline, self.forwarder = repository, pipeline, forwarder
        self.live, self.tunnels = live, tunnels
        self.prefix = prefix.encode()
        self.prefix_slash = self.prefix + b"/"
        self.whoami_path = self.prefix + b"/sessions/whoami"
        self.whoami_route = prefix + "/sessions/whoami"
        self.trusted = parse_networks(trusted_proxies)
        self.strip_headers = strip_headers
        self.cors = cors  # whoami goes through the identity routes then, which add the CORS headers
        self.app_cors = app_cors

    async def __call__(self, request: Request, responder: Responder, exchange: Exchange) -> None:
        path = request.path
        if path == self.prefix or path.startswith(self.prefix_slash):
            if answers_whoami(request, self.whoami_path, self.cors):
                exchange.route = self.whoami_route
                responder.respond(*await self.whoami.answer(request.headers, request.query))
            else:
                await self.identity(request, responder, exchange)
            return
        if self.health.asks(request):
            await self.health(request, responder, exchange)
        elif self.app_cors is None or not self._cross_origin(request, responder, exchange, self.app_cors):
            await self.proxy(request, responder, exchange)

    @staticmethod
    def _cross_origin(request: Request, responder: Responder, exchange: Exchange, policy: CorsPolicy) -> bool:
        """As Oathkeeper's proxy: answer a preflight itself (True) unless `options_passthrough`; give an allowed
        origin's other requests the CORS headers, whatever answers them."""
        origin = request.header(b"origin")
        if origin is None:
            return False
        text = origin.decode("latin-1")
        method = request.header(b"access-control-request-method")
        if request.method == b"OPTIONS" and method is not None and not policy.cfg.options_passthrough:
            exchange.route = "cors preflight"
            requested = request.header(b"access-control-request-headers") or b""
            responder.respond(204, policy.preflight_headers(text, method.decode("latin-1"),
                                                            requested.decode("latin-1")))
            return True
        if policy.allows(text):
            responder.extra_headers = (*responder.extra_headers, *policy.actual_headers(text))
        return False

    async def proxy(self, request: Request, responder: Responder, exchange: Exchange) -> None:
        raw = drop_headers(request.headers, self.strip_headers)
        peer = request.client[0]
        try:
            view, trusted = proxy_view(request.method.decode("latin-1"), "http", request.path, request.query, raw,
                                       peer, self.trusted)
        except GatekeeperError as exc:
            answer(responder, render_bad_request(exc, self.repository.current))
            return
        body = RequestBody(request)
        view.body = body
        decision = await decide(self.pipeline, view, responder, exchange)
        if decision is None:
            return
        rule, session = decision.rule, decision.session
        assert rule is not None and session is not None
        if not rule.upstream_url:
            answer(responder, render_json(GatekeeperError(reason=f"rule {rule.id!r} has no upstream.url"),
                                          verbose=False))
            return
        headers = upstream_headers(rule, view, session, trusted_forwarding=trusted, peer=peer)
        if not any(k == b"x-request-id" for k, _ in headers):  # upstream logs correlate with ours
            headers.append((b"x-request-id", exchange.request_id.encode("latin-1")))
        target = upstream_target(rule, view)
        if request.upgrade and _is_websocket(request):
            async with self.live.watch(session) as ended:
                await self.tunnels.open(request, responder, rule.upstream_url, target, headers, ended)
            return
        stream = request.body() if request.has_body and body.data is None else None
        try:
            if session.still_valid is not None and stream is None and _wants_event_stream(request):
                await self._long_lived(request, responder, session, rule.upstream_url, target, headers, body.data)
            else:
                await self.forwarder.forward(view.method, rule.upstream_url, target, headers, stream, responder,
                                             body=body.data)
        except GatekeeperError as exc:
            self.pipeline.metrics.upstream_errors.labels(rule.id, str(exc.status)).inc()
            log.warning("upstream failed", extra={"rule": rule.id, "status": exc.status, "reason": exc.reason})
            if responder.started:
                raise
            refuse(responder, exc)

    async def _long_lived(self, request: Request, responder: Responder, session: AuthSession, origin: str,
                          target: str, headers: list[tuple[bytes, bytes]], body: bytes | None) -> None:
        """An event stream (SSE) without a request body: forward it until it ends, the client goes away, or the
        session ends (then end the response cleanly)."""
        async with self.live.watch(session) as ended:
            task = asyncio.create_task(self.forwarder.forward(request.method.decode("latin-1"), origin, target,
                                                              headers, None, responder, body=body))
            waiters = [asyncio.create_task(ended.wait()), asyncio.create_task(request.wait_disconnected())]
            try:
                await asyncio.wait((task, *waiters), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if task.done():
                task.result()
                return
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            if not ended.is_set() or request.disconnected:
                return  # the client left
            if responder.started:
                responder.end()
            else:
                answer(responder, render_json(Unauthorized("Access credentials are invalid",
                                                           reason="the session ended"), verbose=False))


def _is_websocket(request: Request) -> bool:
    value = request.header(b"upgrade")
    return value is not None and value.lower() == b"websocket"


def _wants_event_stream(request: Request) -> bool:
    return any(k == b"accept" and b"text/event-stream" in v for k, v in request.headers)
