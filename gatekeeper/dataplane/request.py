"""`Request`: one request head as received, and its body as a stream with back-pressure."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gatekeeper.dataplane.errors import BodyTooLarge

if TYPE_CHECKING:
    from gatekeeper.dataplane.server import Connection


class Request:
    """A request whose head passed every check of the server.

    `target` is the request-target byte for byte; `path` and `query` are split from it at the first `?` (for an
    absolute-form target, from its path part; the Host header stays what the client sent). `headers` keep their
    order, with names lower-cased and values as received (leading and trailing whitespace removed, as RFC 9110
    defines a field value). `keep_alive` is what the client asked for; `upgrade` is an Upgrade request (answer it
    with 101 and `Responder.take_over()`, or the connection is closed after the response). `received` tells
    whether the whole body has arrived (read or not); the server keeps it up to date.
    """

    __slots__ = ("method", "target", "path", "query", "headers", "version", "client", "server", "keep_alive",
                 "upgrade", "content_length", "chunked", "received", "_conn", "_chunks", "_error", "_waiter",
                 "_expect_continue")

    def __init__(self, conn: Connection, method: bytes, target: bytes, path: bytes, query: bytes,
                 headers: list[tuple[bytes, bytes]], version: bytes, keep_alive: bool, upgrade: bool,
                 content_length: int | None, chunked: bool, expect_continue: bool) -> None:
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.headers = headers
        self.version = version
        self.client: tuple[str, int] = conn.client
        self.server: tuple[str, int] = conn.server
        self.keep_alive = keep_alive
        self.upgrade = upgrade
        self.content_length = content_length
        self.chunked = chunked
        self._conn = conn
        self._chunks: deque[bytes] | None = None
        self.received = not (chunked or content_length)
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._expect_continue = expect_continue and not self.received

    def __repr__(self) -> str:
        return f"<Request {self.method.decode()} {self.target!r} HTTP/{self.version.decode()}>"

    @property
    def has_body(self) -> bool:
        """Whether the request announced a body (chunked, or a Content-Length above 0)."""
        return self.chunked or bool(self.content_length)

    def header(self, name: bytes) -> bytes | None:
        """The first value of header `name` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def disconnected(self) -> bool:
        """Whether the client went away: closed the connection, or at least its sending side (a client that only
        half-closes cannot be told apart; what is still written reaches it while the connection stays open)."""
        return self._conn.gone

    async def wait_disconnected(self) -> None:
        """Return once the client went away (see `disconnected`)."""
        await self._conn.wait_gone()

    async def body(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk, as it arrives. The connection stops reading while chunks wait unconsumed;
        the first read answers `Expect: 100-continue`. Raises `ClientDisconnected` if the client goes away before
        the end, `BodyError` subclasses for a malformed body or a client that stopped sending."""
        while chunk := await self._next_chunk():
            yield chunk

    async def read_body(self, limit: int | None = None) -> bytes:
        """The whole body; `BodyTooLarge` (413) beyond `limit` bytes (default `Limits.max_body_size`), raised
        before reading (and before any 100 Continue) when Content-Length already says so."""
        if self.received and self._chunks is None:
            return b""
        limit = self._conn.limits.max_body_size if limit is None else limit
        if self.content_length is not None and self.content_length > limit:
            raise BodyTooLarge(f"the body is larger than {limit} bytes")
        parts = []
        size = 0
        while chunk := await self._next_chunk():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"the body is larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    async def _next_chunk(self) -> bytes:
        """The next chunk of the body, b"" at its end."""
        conn = self._conn
        chunks = self._chunks
        while not chunks:
            if self._error is not None:
                raise self._error
            if self.received:
                return b""
            if self._expect_continue:
                self._expect_continue = False
                conn.send_continue()
            self._waiter = conn.loop.create_future()
            conn.body_wait(True)
            try:
                await self._waiter
            finally:
                self._waiter = None
                conn.body_wait(False)
            chunks = self._chunks
        chunk = chunks.popleft()
        conn.consumed(len(chunk))
        return chunk

    # called by the connection

    def feed(self, chunk: bytes) -> None:
        if self._chunks is None:
            self._chunks = deque()
        self._chunks.append(chunk)
        self._expect_continue = False
        self._wake()

    def finish(self) -> None:
        self.received = True
        self._wake()

    def fail(self, exc: BaseException) -> None:
        if not self.received and self._error is None:
            self._error = exc
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)

    @property
    def unread(self) -> bool:
        """Whether body chunks wait unread."""
        return bool(self._chunks)

    def discard(self) -> int:
        """Drop the chunks nobody read; how many bytes they were."""
        size = sum(map(len, self._chunks or ()))
        self._chunks = None
        return size

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
