"""The HTTP/1.x server: `Connection` (an asyncio protocol around httptools) and `Server` (listeners, deadlines,
connection count, graceful drain).

Per connection, handlers run one at a time: pipelined requests wait in order and request N+1's handler starts
after request N's response ended. Whatever the server refuses itself it answers with the error renderer and then
closes the connection, reading (and dropping) what the client still sends for a moment so that the answer is not
lost to a TCP reset.

Logging (`gatekeeper.dataplane`): refusals of bad input at debug (a client can send many), a failing handler at
error with its traceback, which never reaches the client.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, cast

import httptools

from gatekeeper.dataplane.checks import SPECIAL, Refusal, check_head
from gatekeeper.dataplane.errors import (
    BodyError,
    BodyTimeout,
    ClientDisconnected,
    ErrorRenderer,
    Headers,
    MalformedBody,
    ResponseError,
    json_error,
)
from gatekeeper.dataplane.limits import MIB, Limits
from gatekeeper.dataplane.request import Request
from gatekeeper.dataplane.response import Responder, closing_response, refresh_date

log = logging.getLogger("gatekeeper.dataplane")

Handler = Callable[[Request, Responder], Coroutine[Any, Any, None]]
"""`async def handler(request, responder) -> None`: answers one request through `responder`."""

HIGH_WATER = 256 * 1024  # unread body bytes buffered before the connection stops reading
LOW_WATER = 64 * 1024
LINGER_BYTES = 4 * MIB  # what a closing connection reads and drops at most...
LINGER_BODY = 64 * MIB  # ... or the rest of an announced body up to this: a client that sends its whole body before
# reading the answer (most do) must get to read an early 413, within linger_timeout
CHUNK_OVERHEAD = 4096  # bytes of chunk framing allowed beyond 64 per chunk (chunk extensions are not exposed)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_IDLE, _HEAD, _BODY, _LINGER = 1, 2, 3, 4  # what a connection's deadline is for


def _address(value: object) -> tuple[str, int]:
    if isinstance(value, tuple) and len(value) >= 2:
        return str(value[0]), int(value[1])
    return "", 0


class Connection(asyncio.Protocol):
    """One client connection. httptools (llhttp) parses; `checks` refuses what llhttp lets through."""

    def __init__(self, owner: Server) -> None:
        self.limits = owner.limits
        self.loop = owner.loop
        self.client = ("", 0)
        self.server = ("", 0)
        self.closed = False
        self.write_paused = False
        self._owner = owner
        self._handler = owner.handler
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        # the head being parsed
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._raw_head = 0
        self._special: list[tuple[bytes, bytes]] | None = None
        self._max_line = owner.limits.max_request_line
        self._max_headers = owner.limits.max_headers
        self._max_header_bytes = owner.limits.max_header_bytes
        self._max_pipelined = owner.limits.max_pipelined
        self._in_head = False
        self._events = 0
        # the body being parsed
        self._parsing: Request | None = None
        self._fed = 0
        self._chunks = 0
        self._chunk_overhead = 0
        # requests and their handling
        self._queue: deque[Request] = deque()
        self._current: Request | None = None
        self._responder: Responder | None = None
        self._task: asyncio.Task[None] | None = None
        self._buffered = 0
        self._reading_paused = False
        self._stopped = False  # nothing more is parsed
        self._dead = False  # close after the current response
        self._eof = False
        self._draining = False
        self._refusal: Refusal | None = None
        self._upgrade_data: bytes | None = None
        self._taken_over = False
        self._lingering = 0
        self._linger_limit = LINGER_BYTES
        self._deadline = 0.0
        self._deadline_kind = 0
        self._write_deadline = 0.0
        limits = owner.limits
        self._timeouts = (0.0, limits.keep_alive_timeout, limits.header_timeout, limits.body_timeout,
                          limits.linger_timeout)
        self._drain_waiter: asyncio.Future[None] | None = None
        self._gone_event: asyncio.Event | None = None

    # asyncio protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self._transport = transport
        self.client = _address(transport.get_extra_info("peername"))
        self.server = _address(transport.get_extra_info("sockname"))
        self._owner.added(self)
        self._set_deadline(_HEAD)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._deadline_kind = 0
        self._write_deadline = 0.0
        gone = ClientDisconnected("the client closed the connection")
        for request in (self._current, self._parsing, *self._queue):
            if request is not None:
                request.fail(gone)
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(gone)
        if self._gone_event is not None:
            self._gone_event.set()
        self._owner.removed(self)

    def eof_received(self) -> bool:
        self._eof = True
        if self._gone_event is not None:
            self._gone_event.set()
        if self._parsing is not None:
            self._parsing.fail(ClientDisconnected("the client stopped sending before the end of the body"))
            self._parsing = None
        # keep the write side open while requests that arrived whole are still answered
        return self._current is not None and not self._lingering

    def pause_writing(self) -> None:
        self.write_paused = True
        self._write_deadline = self.loop.time() + self.limits.write_timeout

    def resume_writing(self) -> None:
        self.write_paused = False
        self._write_deadline = 0.0
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self._stopped:
            self._drop(data)
            return
        if self._deadline_kind == _IDLE:
            self._set_deadline(_HEAD)
        events = self._events
        parsing = self._parsing
        fed = self._fed
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._stopped = True
            self._upgrade_data = data[exc.args[0]:]
            self._dispatch()
        except httptools.HttpParserCallbackError as exc:
            self._parse_failed(exc.__context__)
            self._dispatch()
        except httptools.HttpParserError as exc:
            self._parse_failed(Refusal(400, str(exc)))
            self._dispatch()
        else:
            if self._events != events:
                self._dispatch()
                return
            if parsing is None:
                self._raw_head += len(data)
                if self._raw_head > self.limits.max_request_line + self.limits.max_header_bytes:
                    self._parse_failed(Refusal(431 if self._headers else 414, "the request head is too large"))
            elif parsing.chunked:
                self._chunk_overhead += len(data) - (self._fed - fed)
                if self._chunk_overhead > CHUNK_OVERHEAD + 64 * self._chunks + self._head_bytes:
                    self._parse_failed(Refusal(400, "too much chunk framing (chunk extensions)"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._in_head = True
        self._url = b""
        self._headers = []
        self._special = None
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._max_line:
            raise Refusal(414, "the request-target is too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        headers = self._headers
        if self._head_bytes > self._max_header_bytes or len(headers) >= self._max_headers:
            raise Refusal(431, "too many or too large headers")
        if self._parsing is not None:  # a trailer: counted, not kept
            return
        name = name.lower()
        value = value.rstrip(b" \t")
        headers.append((name, value))
        if name in SPECIAL:
            if self._special is None:
                self._special = [(name, value)]
            else:
                self._special.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        method = parser.get_method()
        upgrade = parser.should_upgrade()
        target = self._url
        version, path, query, length, chunked, expect, close = check_head(
            method, parser.get_http_version(), target, self._special, upgrade)
        request = Request(self, method, target, path, query, self._headers, version,
                          parser.should_keep_alive() and not close, upgrade, length, chunked, expect)
        self._in_head = False
        self._raw_head = self._head_bytes = 0
        self._events += 1
        if chunked or length:
            self._parsing = request
            self._chunks = self._chunk_overhead = 0
        self._queue.append(request)
        if self._current is None:
            self._deadline_kind = 0

    def on_body(self, body: bytes) -> None:
        self._parsing.feed(body)  # type: ignore[union-attr]
        size = len(body)
        self._fed += size
        self._buffered += size
        if self._buffered > HIGH_WATER and not self._reading_paused:
            self._update_reading()

    def on_chunk_header(self) -> None:
        self._chunks += 1

    def on_message_complete(self) -> None:
        self._events += 1
        if self._parsing is not None:
            self._parsing.finish()
            self._parsing = None

    # used by Request and Responder

    @property
    def closing(self) -> bool:
        """Closed, or closing (a write failed): connection_lost() may not have run yet."""
        return self.closed or self._transport is None or self._transport.is_closing()

    def write(self, data: bytes) -> None:
        self._transport.write(data)  # type: ignore[union-attr]

    def writelines(self, data: tuple[bytes, ...]) -> None:
        self._transport.writelines(data)  # type: ignore[union-attr]

    async def drain(self) -> None:
        """Wait until the transport takes more data; `ClientDisconnected` if the client goes away."""
        if self.closed:
            raise ClientDisconnected("the client closed the connection")
        if self.write_paused:
            self._drain_waiter = self.loop.create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None

    @property
    def gone(self) -> bool:
        """The client closed the connection, or its sending side (which cannot be told apart from here)."""
        return self.closed or self._eof

    async def wait_gone(self) -> None:
        if self._gone_event is None:
            self._gone_event = asyncio.Event()
            if self.gone:
                self._gone_event.set()
        await self._gone_event.wait()

    def render_error(self, status: int, reason: str) -> tuple[Headers, bytes]:
        return self._owner.error_response(status, reason)

    def must_close(self, request: Request) -> bool:
        """Whether the connection closes after the response to `request` (said in its Connection header)."""
        return (not request.keep_alive or request.upgrade or not request.received or self._dead or self._draining
                or (self._eof and not self._queue))

    def send_continue(self) -> None:
        if self._responder is not None and not self._responder.started and not self.closed:
            self.write(CONTINUE)

    def consumed(self, size: int) -> None:
        self._buffered -= size
        if self._reading_paused and self._buffered <= LOW_WATER:
            self._update_reading()

    def body_wait(self, waiting: bool) -> None:
        if waiting:
            self._set_deadline(_BODY)
        elif self._deadline_kind == _BODY:
            self._deadline_kind = 0

    def take_over(self) -> tuple[asyncio.Transport, bytes]:
        transport = self._transport
        assert transport is not None
        self._taken_over = self._stopped = self._dead = True
        self._deadline_kind = 0
        self._write_deadline = 0.0
        data = self._upgrade_data or b""
        self._upgrade_data = None
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        return transport, data

    # used by Server

    def check(self, now: float) -> None:
        """Act on an expired deadline (called by the server a few times a second)."""
        if self._write_deadline and now >= self._write_deadline:
            log.debug("client %s:%d does not read its response: dropped", *self.client)
            self._write_deadline = 0.0
            self._transport.abort()  # type: ignore[union-attr]
            return
        kind = self._deadline_kind
        if not kind:
            return
        if not self._deadline:  # armed since the last tick: starts now
            self._deadline = now + self._timeouts[kind]
            return
        if now < self._deadline:
            return
        self._deadline_kind = 0
        if kind == _BODY:
            if self._current is not None:
                self._dead = True
                self._current.fail(BodyTimeout("the client stopped sending the body"))
        elif kind == _HEAD and self._in_head:
            self._stopped = True
            self._refuse(Refusal(408, "the request head was not received in time"))
        else:
            self._close()

    def start_draining(self) -> None:
        """Close now if idle, after the current response otherwise."""
        self._draining = True
        if self._current is None and not self._in_head and not self._taken_over:
            self._close()

    def abort(self) -> None:
        """Drop the connection and cancel its handler (end of a drain)."""
        if self._transport is not None:
            self._transport.abort()
        if self._task is not None:
            self._task.cancel()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    # handling

    def _dispatch(self) -> None:
        """Start the handler of the next queued request, in a task of its own (handlers may use anything that
        needs a current task: timeouts, task groups, anyio)."""
        queue = self._queue
        if self._current is None and queue:
            request = self._current = queue.popleft()
            responder = self._responder = Responder(self, request)
            self._task = self.loop.create_task(self._run(request, responder))
        if self._reading_paused or len(queue) >= self._max_pipelined:
            self._update_reading()

    async def _run(self, request: Request, responder: Responder) -> None:
        """One handler, then the requests queued behind it."""
        error = None
        try:
            await self._handler(request, responder)
        except asyncio.CancelledError:
            self.abort()
            raise
        except Exception as exc:  # whatever a handler raises ends its response, never the server
            error = exc
        self._task = None
        self._done(request, responder, error)
        self._dispatch()

    def _done(self, request: Request, responder: Responder, error: Exception | None) -> None:
        """The handler returned (or raised): finish its response, then close, go idle, or wait for the client to
        read before the next request."""
        if error is not None or not responder.ended:
            self._unfinished(responder, error)
        if self._taken_over:
            self._current = self._responder = None
            self.closed = True
            self._transport.close()  # type: ignore[union-attr]
            self._owner.removed(self)
            return
        if request.received and request.unread:
            self._buffered -= request.discard()
        # responder.close covers what the request asked for (keep-alive, upgrade) and a body left unread
        if responder.close or self._dead or self._draining or self.closed or not request.received:
            self._current = self._responder = None
            linger = (not request.received or self._dead or bool(self._queue) or self._in_head
                      or self._upgrade_data is not None)
            if request.content_length is not None and not request.received:
                self._linger_limit = max(LINGER_BYTES, min(request.content_length, LINGER_BODY))
            self._queue.clear()
            self._close(linger=linger)
            return
        if self.write_paused:
            self._task = self.loop.create_task(self._after_drain())
            return
        self._current = self._responder = None
        if not self._queue:
            self._idle()

    def _unfinished(self, responder: Responder, error: Exception | None) -> None:
        """End a response the handler left open, or answer its failure."""
        if error is None and not self._taken_over:
            if not responder.started:
                error = RuntimeError("the handler returned without a response")
            else:
                try:
                    responder.end()
                except ResponseError as exc:
                    error = exc
        if error is not None:
            self._handler_failed(responder, error)

    async def _after_drain(self) -> None:
        """The client read enough of the last response: on to the next request."""
        try:
            await self.drain()
        except ClientDisconnected:
            return
        self._task = None
        self._current = self._responder = None
        if self._queue:
            self._dispatch()
        else:
            self._idle()

    def _handler_failed(self, responder: Responder, exc: Exception) -> None:
        self._dead = True
        if isinstance(exc, ClientDisconnected):
            log.debug("client %s:%d went away: %s", *self.client, exc)
            return
        if isinstance(exc, BodyError):
            status, reason = exc.status, str(exc)
            log.debug("request body refused (%d): %s", status, reason)
        elif isinstance(exc, ResponseError):
            status, reason = 502, "the handler's response was malformed"
            log.error("invalid response from the handler: %s", exc)
        else:
            status, reason = 500, ""
            log.error("the handler failed", exc_info=exc)
        if responder.abandon():
            if not self.closed:
                headers, body = self.render_error(status, reason)
                self.write(closing_response(status, headers, body, with_body=self._current_method() != b"HEAD"))
        elif not responder.ended and self._transport is not None:
            self._transport.abort()  # the client must not take a truncated body for a whole one

    def _current_method(self) -> bytes:
        return self._current.method if self._current is not None else b""

    def _idle(self) -> None:
        """No request left to answer: refuse the pending bad one, close after EOF, or wait for the next."""
        if self._refusal is not None:
            self._refuse(self._refusal)
        elif self._eof:
            self._close()
        else:
            self._set_deadline(_HEAD if self._in_head else _IDLE)

    # refusing and closing

    def _parse_failed(self, exc: BaseException | None) -> None:
        self._stopped = True
        if not isinstance(exc, Refusal):
            log.error("request parsing failed", exc_info=exc)
            exc = Refusal(400, "the request could not be parsed")
        request = self._parsing
        if request is not None:  # in a body: its handler hears of it; it is the last request answered
            self._parsing = None
            request.fail(MalformedBody(exc.reason))
        elif self._current is None and not self._queue:
            self._refuse(exc)
        else:
            self._refusal = exc  # answered in order, after the requests before it
        self._update_reading()

    def _refuse(self, refusal: Refusal) -> None:
        log.debug("request from %s:%d refused (%d): %s", *self.client, refusal.status, refusal.reason)
        if not self.closed:
            headers, body = self.render_error(refusal.status, refusal.reason)
            self.write(closing_response(refusal.status, headers, body))
        self._close(linger=True)

    def _close(self, linger: bool = False) -> None:
        """Close; with `linger`, half-close first and drop what the client still sends for a moment."""
        self._stopped = True
        self._deadline_kind = 0
        transport = self._transport
        if self.closed or transport is None:
            return
        if not linger or self._eof or not transport.can_write_eof():
            transport.close()
            return
        self._lingering = 1
        self._set_deadline(_LINGER)
        transport.write_eof()
        self._update_reading()

    def _drop(self, data: bytes) -> None:
        if self._lingering:
            self._lingering += len(data)
            if self._lingering > self._linger_limit:
                self._transport.close()  # type: ignore[union-attr]
        elif self._taken_over:
            log.error("bytes arrived after take_over() before set_protocol(): connection dropped")
            self._transport.abort()  # type: ignore[union-attr]
        elif self._upgrade_data is not None:
            self._upgrade_data += data
            self._update_reading()

    def _update_reading(self) -> None:
        """Read unless body bytes pile up unread, too many requests wait, or nothing more is parsed."""
        if self.closed or self._taken_over:
            return
        if self._lingering:
            pause = False
        elif self._upgrade_data is not None:
            pause = len(self._upgrade_data) > HIGH_WATER
        else:
            pause = (self._stopped or self._buffered > HIGH_WATER
                     or len(self._queue) >= self.limits.max_pipelined)
        if pause != self._reading_paused:
            self._reading_paused = pause
            if pause:
                self._transport.pause_reading()  # type: ignore[union-attr]
            else:
                self._transport.resume_reading()  # type: ignore[union-attr]

    def _set_deadline(self, kind: int) -> None:
        """Arm the deadline for `kind`; the server's next tick starts its clock (so no clock is read here)."""
        self._deadline_kind = kind
        self._deadline = 0.0


class Server:
    """Serves HTTP/1.x on listening sockets, calling `handler` once per request.

    `await server.start(sock)` on each pre-bound listening socket; `close()` stops accepting; `await drain(t)`
    closes idle connections at once, lets requests in flight finish for up to `t` seconds, then drops the rest.
    `connections` is the number of open connections (a gauge for metrics).
    """

    def __init__(self, handler: Handler, *, limits: Limits | None = None,
                 error_response: ErrorRenderer = json_error) -> None:
        self.handler = handler
        self.limits = limits or Limits()
        self.error_response = error_response
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[asyncio.Server] = []
        self._connections: set[Connection] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._idle: asyncio.Event | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server was started on."""
        assert self._loop is not None, "the server was not started"
        return self._loop

    @property
    def connections(self) -> int:
        """Open client connections (including upgraded ones whose handler still runs)."""
        return len(self._connections)

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets."""
        return [sock for listener in self._listeners for sock in listener.sockets]

    async def start(self, sock: socket.socket, *, backlog: int = 1024) -> None:
        """Serve on `sock`, a bound (and possibly listening) TCP socket."""
        self._loop = asyncio.get_running_loop()
        listener = await self.loop.create_server(lambda: Connection(self), sock=sock, backlog=backlog)
        self._listeners.append(listener)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self.limits.tick, self._sweep)

    def close(self) -> None:
        """Stop accepting connections."""
        for listener in self._listeners:
            listener.close()

    async def drain(self, timeout: float) -> None:
        """Stop accepting, close idle connections, wait up to `timeout` for the others, then drop them."""
        self.close()
        for conn in list(self._connections):
            conn.start_draining()
        if self._connections:
            self._idle = asyncio.Event()
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except TimeoutError:
                left = list(self._connections)
                log.warning("drain: dropping %d connection(s) still busy after %.1fs", len(left), timeout)
                for conn in left:
                    conn.abort()
                tasks = [conn.task for conn in left if conn.task is not None]
                await asyncio.gather(*tasks, return_exceptions=True)
        for listener in self._listeners:
            await listener.wait_closed()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def added(self, conn: Connection) -> None:
        self._connections.add(conn)

    def removed(self, conn: Connection) -> None:
        self._connections.discard(conn)
        if self._idle is not None and not self._connections:
            self._idle.set()

    def _sweep(self) -> None:
        refresh_date()
        now = self.loop.time()
        for conn in list(self._connections):
            conn.check(now)
        self._sweeper = self.loop.call_later(self.limits.tick, self._sweep)


async def serve(handler: Handler, sock: socket.socket, *, limits: Limits | None = None,
                error_response: ErrorRenderer = json_error) -> Server:
    """A started `Server` for `handler` on `sock`."""
    server = Server(handler, limits=limits, error_response=error_response)
    await server.start(sock)
    return server
