"""The `:4455` listener: identity under the prefix, everything else through the access rules to the upstream.

Pure ASGI: tables are built in `__init__`; `__call__` does only per-request work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatekeeper.access.errors.json import render_json
from gatekeeper.access.handlers import AuthSession
from gatekeeper.access.pipeline import Pipeline, render_bad_request
from gatekeeper.access.repository import RuleRepository
from gatekeeper.access.request_view import parse_networks, proxy_view
from gatekeeper.asgi import BodyBuffer, adopt_route, annotate, send_answer
from gatekeeper.errors import GatekeeperError, Unauthorized
from gatekeeper.proxy.forward import Forwarder
from gatekeeper.proxy.live import LiveConnections
from gatekeeper.proxy.upstream_request import upstream_headers, upstream_target
from gatekeeper.proxy.websocket import tunnel_websocket

log = logging.getLogger("gatekeeper.proxy")

class ProxyApp:
    def __init__(self, identity: ASGIApp, repository: RuleRepository, pipeline: Pipeline, forwarder: Forwarder,
                 *, prefix: str, trusted_proxies: tuple[str, ...], live: LiveConnections | None = None) -> None:
        self.identity, self.repository, self.pipeline, self.forwarder = identity, repository, pipeline, forwarder
        self.live = live or LiveConnections(CollectorRegistry())
        self.prefix, self.prefix_slash = prefix, prefix + "/"
        self.trusted = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return
        path = scope["path"]
        if path == self.prefix or path.startswith(self.prefix_slash):
            child = {**scope, "root_path": scope.get("root_path", "") + self.prefix,
                     "path": path[len(self.prefix):] or "/"}
            if "raw_path" in child and child["raw_path"]:
                child["raw_path"] = child["raw_path"][len(self.prefix):] or b"/"
            try:
                await self.identity(child, receive, send)
            finally:
                adopt_route(scope, child, self.prefix)
            return
        try:
            view, trusted = proxy_view(scope, self.trusted)
        except GatekeeperError as exc:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await send_answer(send, render_bad_request(exc, self.repository.current))
            return
        buffer = BodyBuffer(receive)
        view.body = buffer
        decision = await self.pipeline.run(view)
        annotate(scope, decision.route, decision.log)
        if decision.error is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await send_answer(send, decision.error)
            return
        rule, session = decision.rule, decision.session
        assert rule is not None and session is not None
        if not rule.upstream_url:
            await send_answer(send, render_json(GatekeeperError(reason=f"rule {rule.id!r} has no upstream.url"),
                                               verbose=False))
            return
        peer = (scope.get("client") or ("", 0))[0]
        headers = upstream_headers(rule, view, session, trusted_forwarding=trusted, peer=peer,
                                   websocket=scope["type"] == "websocket")
        _add_request_id(headers, scope)
        target = upstream_target(rule, view)
        if scope["type"] == "websocket":
            async with self.live.watch(session) as ended:
                await tunnel_websocket(self.forwarder, scope, receive, send, rule.upstream_url + target, headers,
                                       ended)
            return
        try:
            if session.still_valid is not None and not _has_body(scope) and _wants_event_stream(scope):
                await self._long_lived(
                    lambda out: self.forwarder.forward(view.method, rule.upstream_url, target, headers, receive, out,
                                                       has_body=False, body=buffer.data), session, receive, send)
            else:
                await self.forwarder.forward(view.method, rule.upstream_url, target, headers, receive, send,
                                             has_body=_has_body(scope), body=buffer.data)
        except GatekeeperError as exc:
            self.pipeline.metrics.upstream_errors.labels(rule.id, str(exc.status)).inc()
            log.warning("upstream failed", extra={"rule": rule.id, "status": exc.status, "reason": exc.reason})
            await send_answer(send, render_json(exc, verbose=True))


    async def _long_lived(self, forward: Callable[[Send], Coroutine[Any, Any, int]], session: AuthSession,
                          receive: Receive, send: Send) -> None:
        """An event stream (SSE) without a request body: forward it until it ends, the client goes away, or the
        session ends (then end the response cleanly)."""
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def client_gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        async with self.live.watch(session) as ended:
            task = asyncio.create_task(forward(tracked))
            waiters = [asyncio.create_task(ended.wait()), asyncio.create_task(client_gone())]
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
            if not ended.is_set():
                return  # the client left
            if started:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send_answer(send, render_json(Unauthorized("Access credentials are invalid",
                                                                reason="the session ended"), verbose=False))


def _add_request_id(headers: list[tuple[bytes, bytes]], scope: Scope) -> None:
    """Upstream logs correlate with ours: the request id goes along as X-Request-Id unless one is already sent
    (the client's own, or a mutator's)."""
    request_id = scope.get("request_id")
    if request_id and not any(k.lower() == b"x-request-id" for k, _ in headers):
        headers.append((b"x-request-id", request_id.encode("latin-1")))


def _wants_event_stream(scope: Scope) -> bool:
    return any(k == b"accept" and b"text/event-stream" in v for k, v in scope["headers"])


def _has_body(scope: Scope) -> bool:
    for k, v in scope["headers"]:
        if k == b"content-length":
            return v.strip() not in (b"0", b"")
        if k == b"transfer-encoding":
            return True
    return False
