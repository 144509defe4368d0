"""`AsgiBridge`: an ASGI 3 application (HTTP only) as a data-plane handler."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from gatekeeper.dataplane.errors import BodyError, ClientDisconnected
from gatekeeper.dataplane.request import Request
from gatekeeper.dataplane.response import Responder

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ASGI = {"version": "3.0", "spec_version": "2.4"}  # 2.4: send() raises OSError once the client is gone
_DISCONNECT: Message = {"type": "http.disconnect"}


class AsgiBridge:
    """Runs `app` for each request: `await AsgiBridge(app)(request, responder)`.

    The scope is the one uvicorn builds (`path` percent-decoded, `raw_path` as received); mounted at `root_path`,
    the app sees the path below it, as a Starlette `Mount` passes it on. `receive` yields the body
    chunk by chunk, then `http.disconnect` once the response is complete or the client is gone; `send` maps to
    the responder (a response whose body comes in one message is written at once). A body the server cannot read
    whole (malformed, too slow) is answered with its error status at once, and the app told the client left.
    """

    def __init__(self, app: AsgiApp, *, scheme: str = "http", root_path: str = "") -> None:
        self.app = app
        self.scheme = scheme
        self.root_path = root_path
        self.root_bytes = root_path.encode("ascii")

    async def __call__(self, request: Request, responder: Responder) -> None:
        await self.run(request, responder)

    async def run(self, request: Request, responder: Responder, extra: Scope | None = None) -> Scope:
        """Run the app for `request` with `extra` entries added to its scope; returns the scope as the app left
        it (what it noted there, such as the matched route)."""
        raw_path = request.path
        if self.root_path and raw_path.startswith(self.root_bytes):
            raw_path = raw_path[len(self.root_bytes):] or b"/"
        path = raw_path.decode("ascii")
        if "%" in path:
            path = unquote(path)
        scope: Scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": request.version.decode(),
            "method": request.method.decode(),
            "scheme": self.scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": request.query,
            "root_path": self.root_path,
            "headers": request.headers,
            "client": request.client,
            "server": request.server,
        }
        if extra:
            scope.update(extra)
        exchange = _Exchange(request, responder)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception as exc:
            if request.disconnected:  # the app's own way of saying so (Starlette's ClientDisconnect, ...)
                raise ClientDisconnected("the client closed the connection") from exc
            raise
        return scope


class _Exchange:
    """`receive` and `send` of one request."""

    __slots__ = ("request", "responder", "status", "headers", "trailers", "body", "done")

    def __init__(self, request: Request, responder: Responder) -> None:
        self.request = request
        self.responder = responder
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers = False
        self.body: AsyncIterator[bytes] | None = request.body() if request.has_body else None
        self.done = False  # a bodyless request still gets its one (empty) http.request message

    async def receive(self) -> Message:
        if self.done:
            if not self.responder.ended and not self.request.disconnected:
                await self.request.wait_disconnected()
            return _DISCONNECT
        if self.body is None:
            self.done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        try:
            chunk = await self.body.__anext__()
        except StopAsyncIteration:
            self.done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        except ClientDisconnected:
            self.done = True
            return _DISCONNECT
        except BodyError as exc:
            self.done = True
            if not self.responder.started:
                self.responder.error(exc.status, str(exc))
            return _DISCONNECT
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(self, message: Message) -> None:
        responder = self.responder
        kind = message["type"]
        if kind == "http.response.start":
            if self.status:
                raise RuntimeError("http.response.start sent twice")
            self.status = message["status"]
            self.headers = message.get("headers", [])
            self.trailers = message.get("trailers", False)
        elif kind == "http.response.body":
            if not self.status:
                raise RuntimeError("http.response.body before http.response.start")
            if responder.ended:
                return  # the server already answered (a body it could not read), or the response is complete
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if not responder.started:
                if not more and not self.trailers:
                    responder.respond(self.status, self.headers, body)
                    return
                responder.start(self.status, self.headers)
            await responder.write(body)
            if not more and not self.trailers:
                responder.end()
        elif kind == "http.response.trailers":
            if not message.get("more_trailers", False) and not responder.ended:
                responder.end(message.get("headers", []))
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
