"""A small HTTP/1.1 upstream client for the proxy: keep-alive pool per upstream, httptools (llhttp) to parse
responses, bodies streamed both ways with flow control. About 4x less work per request than a general
client (bench/proxy.py).

Only what a reverse proxy needs: one request per connection at a time, `Content-Length` or chunked request
bodies; responses framed by `Content-Length`, chunked, or the connection's end (RFC 9112 §6.3). A response the
proxy cannot relay faithfully (another transfer-coding, conflicting lengths, an unasked 101, a malformed message)
is refused with `UpstreamProtocolError` before its head is handed out. Interim (1xx) responses are skipped and
trailers dropped (RFC 9110 §6.5: a proxy may discard them). Bodiless answers (HEAD, 204, 304) keep the
connection.

At most `max_connections` connections per upstream (opening, in use and idle alike); a request waits up to
`pool_timeout` for one, then fails with `PoolExhausted`. A reused keep-alive connection that the upstream closed
before answering is retried once on a fresh connection when the request body can be replayed. Bytes that
arrive while no request is in flight (a response glued after the answer, or sent on an idle connection)
answer nobody: the connection that received them is discarded, never handed to the next request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence

import httptools

Headers = Sequence[tuple[bytes, bytes]]
Key = tuple[str, int, bool]  # (host, port, tls)
_HIGH_WATER = 256 * 1024


class UpstreamClosed(ConnectionError):
    """The upstream closed the connection before the response was complete."""


class UpstreamProtocolError(Exception):
    """The upstream's response cannot be relayed faithfully: malformed, or framed in a way the proxy refuses."""


class PoolExhausted(Exception):
    """Every connection the cap allows to this upstream stayed in use for the whole pool timeout."""


class _Unsolicited(Exception):
    """The upstream sent a message while no request was waiting for one."""


class _Connection(asyncio.Protocol):
    __slots__ = ("transport", "parser", "status", "headers", "keep_alive", "chunks", "buffered", "complete",
                 "error", "waiter", "paused_reading", "write_ready", "received", "informational", "reusable",
                 "close_delimited", "idle_since", "in_flight", "no_body", "on_close")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.write_ready: asyncio.Future[None] | None = None
        self.reusable = True
        self.idle_since = 0.0
        self.in_flight = False
        self.no_body = False
        self.on_close: Callable[[], None] | None = None  # the pool's count of this connection ends
        self._reset()

    def _reset(self) -> None:
        if self.no_body:  # llhttp expects the body a HEAD answer's head announces: start afresh
            self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = False
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.complete = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.paused_reading = False
        self.received = False
        self.informational = False
        self.close_delimited = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.in_flight:  # unsolicited bytes on an idle connection: it can answer no one any more
            self.close()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # 101 is refused in on_headers_complete; this is llhttp's own word
            self._fail(UpstreamProtocolError("a protocol switch nobody asked for"))
        except httptools.HttpParserError as exc:
            refused = exc.__context__  # what a callback raised; _Unsolicited only comes after a whole answer
            self._fail(refused if isinstance(refused, UpstreamProtocolError) else
                       UpstreamProtocolError(f"malformed response ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._uncount()
        self.in_flight = False
        if self.close_delimited and self.status and exc is None:
            self.complete = True  # a body without Content-Length or chunking ends with the connection
            self._wake()
        elif not self.complete:
            self._fail(exc or UpstreamClosed("the upstream closed the connection"))
        if self.write_ready is not None and not self.write_ready.done():
            self.write_ready.set_result(None)

    def pause_writing(self) -> None:
        self.write_ready = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.write_ready is not None and not self.write_ready.done():
            self.write_ready.set_result(None)
        self.write_ready = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        if not self.in_flight:  # a second message after the answer: stop parsing, never reuse
            raise _Unsolicited

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.status:  # once the head is done, fields are trailers: dropped
            self.headers.append((name, value.rstrip(b" \t")))  # llhttp keeps trailing whitespace (RFC 9110 §5.5)

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 100:
            raise UpstreamProtocolError(f"status {status}")
        if status == 101:
            raise UpstreamProtocolError("101 Switching Protocols to a request that asked for no upgrade")
        if status < 200:
            if any(k.lower() in (b"content-length", b"transfer-encoding") for k, _ in self.headers):
                # RFC 9110 §8.6, RFC 9112 §6.1: never on a 1xx. llhttp would read a body for some (104..199)
                raise UpstreamProtocolError(f"an interim {status} response announcing content")
            self.informational = True
            self.headers = []
            return
        codings = [t.strip().lower() for k, v in self.headers if k.lower() == b"transfer-encoding"
                   for t in v.split(b",")]
        if codings and codings != [b"chunked"]:  # even on a bodiless answer: what would its body have been?
            coding = b", ".join(codings).decode("latin-1")
            raise UpstreamProtocolError(f"unsupported Transfer-Encoding {coding!r}")
        self.status = status
        if self.no_body:  # llhttp cannot know the request was HEAD: the answer is whole with its head
            self.keep_alive = self._persistent()
            self.complete, self.in_flight = True, False
        else:
            self.keep_alive = self.parser.should_keep_alive()
            names = {k.lower() for k, _ in self.headers}
            self.close_delimited = b"content-length" not in names and b"transfer-encoding" not in names
        self._wake()

    def _persistent(self) -> bool:
        """Whether the connection stays open after a bodiless answer (RFC 9112 §9.3)."""
        tokens = {t.strip().lower() for k, v in self.headers if k.lower() == b"connection" for t in v.split(b",")}
        return b"close" not in tokens and (self.parser.get_http_version() != "1.0" or b"keep-alive" in tokens)

    def on_body(self, body: bytes) -> None:
        if self.complete:  # bytes after a HEAD answer's head: they answer nothing
            raise _Unsolicited
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.paused_reading and self.transport is not None:
            self.transport.pause_reading()
            self.paused_reading = True
        self._wake()

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
            return
        if self.complete:  # a HEAD answer that announced no body
            return
        self.complete = True
        self.in_flight = False
        self._wake()

    def _fail(self, exc: BaseException) -> None:
        self.reusable = False
        if self.complete:
            return  # the answer is whole; what came after it only makes the connection unusable
        self.error = exc
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        timer = loop.call_later(timeout, _expire, waiter) if timeout else None  # cheaper than wait_for
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    def write_nowait(self, data: bytes) -> None:
        """Queue `data` for the upstream; raises once the connection has failed or closed."""
        if self.error is not None:
            raise self.error
        if self.transport is None or self.transport.is_closing():
            raise UpstreamClosed("the upstream closed the connection")
        self.transport.write(data)

    async def write(self, data: bytes, timeout: float | None) -> None:
        """Send `data`; while the upstream reads nothing, wait at most `timeout` for it to take more."""
        self.write_nowait(data)
        if self.write_ready is not None:
            await asyncio.wait_for(asyncio.shield(self.write_ready), timeout)

    def begin(self, *, no_body: bool) -> None:
        """A request is about to be sent; `no_body`: its answer has none, whatever its head says (HEAD)."""
        self.in_flight, self.no_body = True, no_body

    async def head_or_sent(self, sender: asyncio.Future[None]) -> None:
        """Wait for the answer's head (or the connection's failure) or the end of `sender`, whichever is first;
        raises what `sender` failed with when there is no answer to hear instead."""
        while not self.status and self.error is None and not sender.done():
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait((self.waiter, sender), return_when=asyncio.FIRST_COMPLETED)
            finally:
                self.waiter = None
        if not self.status and self.error is None:
            sender.result()

    async def response_head(self, timeout: float | None) -> None:
        while self.status == 0:
            if self.error is not None:
                raise self.error
            await self._wait(timeout)

    async def body(self, timeout: float | None) -> AsyncIterator[bytes]:
        while True:
            if self.chunks:
                chunk = self.chunks.popleft()
                self.buffered -= len(chunk)
                if self.paused_reading and self.buffered < _HIGH_WATER // 2 and self.transport is not None:
                    self.transport.resume_reading()
                    self.paused_reading = False
                yield chunk
                continue
            if self.complete:
                return
            if self.error is not None:
                raise self.error
            await self._wait(timeout)

    def close(self) -> None:
        self.reusable = False
        self._uncount()
        if self.transport is not None:
            self.transport.close()

    def _uncount(self) -> None:
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close()


class Response:
    """An upstream response whose body is streamed; `release()` returns the connection to the pool.

    `sender` is still sending the request body when the upstream answered early: release stops it."""

    __slots__ = ("status", "headers", "_conn", "_pool", "_key", "_timeout", "_sender")

    def __init__(self, conn: _Connection, pool: Pool, key: Key, timeout: float | None,
                 sender: asyncio.Future[None] | None) -> None:
        self.status, self.headers = conn.status, conn.headers
        self._conn, self._pool, self._key, self._timeout, self._sender = conn, pool, key, timeout, sender

    def body(self) -> AsyncIterator[bytes]:
        return self._conn.body(self._timeout)

    def release(self) -> None:
        conn, sender = self._conn, self._sender
        body_sent = sender is None or (sender.done() and not sender.cancelled() and sender.exception() is None)
        if not body_sent or not conn.complete or not conn.keep_alive or not conn.reusable or conn.chunks:
            _abandon(conn, sender)
        else:
            conn._reset()
            self._pool.put(self._key, conn)


class _Origin:
    """One upstream's connections: the idle ones, how many exist or are opening, who waits for one."""

    __slots__ = ("idle", "count", "waiters")

    def __init__(self) -> None:
        self.idle: collections.deque[_Connection] = collections.deque()
        self.count = 0
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def wake_one(self) -> None:
        """A connection went idle or a slot came free: the longest waiter looks again."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def free(self) -> None:
        self.count -= 1
        self.wake_one()


class Pool:
    """Keep-alive connections per (host, port, tls), at most `max_connections` each (`0`: no cap)."""

    def __init__(self, *, connect_timeout: float | None, response_timeout: float | None,
                 write_timeout: float | None, idle_timeout: float | None, max_connections: int = 0,
                 pool_timeout: float | None = None, ssl_context: ssl.SSLContext | None = None,
                 max_idle: int = 512) -> None:
        self.connect_timeout, self.response_timeout = connect_timeout, response_timeout
        self.write_timeout, self.idle_timeout, self.max_idle = write_timeout, idle_timeout, max_idle
        self.max_connections, self.pool_timeout = max_connections, pool_timeout
        self._origins: dict[Key, _Origin] = {}
        self.ssl_context = ssl_context or ssl.create_default_context()

    def _origin(self, key: Key) -> _Origin:
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin()
        return origin

    def put(self, key: Key, conn: _Connection) -> None:
        origin = self._origin(key)
        idle = origin.idle
        if len(idle) >= self.max_idle:
            conn.close()
            return
        conn.idle_since = now = time.monotonic()
        while self.idle_timeout and idle and now - idle[0].idle_since > self.idle_timeout:
            idle.popleft().close()  # the oldest idle connections expire first
        idle.append(conn)
        origin.wake_one()

    def _take(self, origin: _Origin) -> _Connection | None:
        idle = origin.idle
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if self.idle_timeout and now - conn.idle_since > self.idle_timeout:
                conn.close()  # idle longer than serve.proxy.upstream.idle_timeout
                continue
            if conn.reusable and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    async def _acquire(self, key: Key, *, reuse: bool) -> _Connection:
        """An idle connection (when `reuse`), or a new one within the cap, waiting up to pool_timeout for either."""
        origin = self._origin(key)
        if reuse and (idle := self._take(origin)) is not None:
            return idle  # the common case: no wait, no timer
        try:
            async with asyncio.timeout(self.pool_timeout):
                while True:
                    conn = self._take(origin) if reuse else None
                    if conn is not None:
                        return conn
                    if not self.max_connections or origin.count < self.max_connections:
                        break
                    await self._wait_turn(origin)
        except TimeoutError:
            raise PoolExhausted(f"all {self.max_connections} connections stayed in use") from None
        origin.count += 1  # counted from now: opening, then in use, then idle, until it closes
        try:
            return await self._open(key, origin.free)
        except BaseException:
            origin.free()
            raise

    @staticmethod
    async def _wait_turn(origin: _Origin) -> None:
        waiter = asyncio.get_running_loop().create_future()
        origin.waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                origin.wake_one()  # woken, but leaving: the turn passes on
            else:
                with contextlib.suppress(ValueError):
                    origin.waiters.remove(waiter)
            raise

    async def _open(self, key: Key, on_close: Callable[[], None]) -> _Connection:
        host, port, tls = key
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(_Connection, host, port, ssl=self.ssl_context if tls else None,
                                   server_hostname=host if tls else None),
            self.connect_timeout)
        if conn.transport is None or conn.transport.is_closing():  # lost already: the caller frees its slot
            raise UpstreamClosed("the upstream closed the connection")
        conn.on_close = on_close
        return conn

    async def request(self, key: Key, head: bytes, body: bytes | AsyncIterator[bytes] | None,
                      *, chunked: bool, is_head: bool) -> Response:
        """Send one request; returns once the response head has arrived.

        A streamed body is sent alongside reading the answer: an upstream that answers before it has read the
        whole body (413, 401, then often closing) is heard, and the rest of the body is not sent."""
        replayable = not isinstance(body, AsyncIterator)
        conn = await self._acquire(key, reuse=True)
        reused = conn.idle_since > 0
        for attempt in (0, 1):
            if attempt:
                conn = await self._acquire(key, reuse=False)
            sender = None
            try:
                conn.begin(no_body=is_head)
                if isinstance(body, AsyncIterator):
                    sender = asyncio.ensure_future(self._send(conn, head, body, chunked=chunked))
                    sender.add_done_callback(_retrieve)
                    await conn.head_or_sent(sender)
                else:
                    conn.write_nowait(head + (body or b""))
                await conn.response_head(self.response_timeout)
                return Response(conn, self, key, self.response_timeout, sender)
            except TimeoutError:  # a subclass of OSError: keep it apart (-> 504)
                _abandon(conn, sender)
                raise
            except (ConnectionError, OSError) as exc:
                _abandon(conn, sender)
                if attempt == 0 and reused and replayable and not conn.received:
                    continue  # a stale keep-alive connection: try once more on a fresh one
                raise UpstreamClosed(str(exc) or type(exc).__name__) from None
            except BaseException:
                _abandon(conn, sender)
                raise
        raise AssertionError("unreachable")

    async def _send(self, conn: _Connection, head: bytes, body: AsyncIterator[bytes], *, chunked: bool) -> None:
        """Stream the request: each write waits at most write_timeout for an upstream that reads nothing."""
        await conn.write(head, self.write_timeout)
        async for chunk in body:
            if chunk:
                await conn.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk, self.write_timeout)
            # let the loop read between chunks even when the body arrives faster than it is sent: an answer
            # the upstream gave early must be read before a reset (it closed with unread data) discards it
            await asyncio.sleep(0)
        if chunked:
            await conn.write(b"0\r\n\r\n", self.write_timeout)

    def close(self) -> None:
        for origin in self._origins.values():
            while origin.idle:
                origin.idle.pop().close()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _abandon(conn: _Connection, sender: asyncio.Future[None] | None) -> None:
    """Close `conn`, and stop sending the request body on it."""
    conn.close()
    if sender is not None:
        sender.cancel()


def _retrieve(sender: asyncio.Future[None]) -> None:
    """A send that failed after the answer came is no news: the answer is what counts."""
    if not sender.cancelled():
        sender.exception()
