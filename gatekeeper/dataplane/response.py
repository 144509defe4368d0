"""`Responder`: writes one response with the framing HTTP/1.x needs, checking what the handler gives it."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING

from gatekeeper.dataplane.errors import ClientDisconnected, ResponseError

if TYPE_CHECKING:
    import asyncio

    from gatekeeper.dataplane.request import Request
    from gatekeeper.dataplane.server import Connection

HeaderList = Sequence[tuple[bytes, bytes]]

_STATUS_LINES = {s.value: b"HTTP/1.1 %d %s\r\n" % (s.value, s.phrase.encode()) for s in HTTPStatus}
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]").search
_DIGITS = re.compile(rb"[0-9]{1,18}\Z").match

_IDLE, _PENDING, _STREAMING, _ENDED = range(4)
_CONTENT_LENGTH, _TRANSFER_ENCODING, _CONNECTION, _DATE = range(1, 5)
_FRAMING = {b"content-length": _CONTENT_LENGTH, b"transfer-encoding": _TRANSFER_ENCODING,
            b"connection": _CONNECTION, b"date": _DATE}
_NAMES: dict[bytes, int] = {}  # header names already checked -> what the head builder does with them (0: copy)
_date = (0, b"")


def refresh_date() -> None:
    """Format the `date:` header line again if the second changed (the server calls this every tick)."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, b"date: " + formatdate(now, usegmt=True).encode() + b"\r\n")


def _name_kind(name: bytes) -> int:
    """Check a header name the first time it is seen (remembering up to 4096 of them)."""
    if not _TOKEN(name):
        raise ResponseError(f"invalid header name {name!r}")
    kind = _FRAMING.get(name.lower(), 0)
    if len(_NAMES) < 4096:
        _NAMES[name] = kind
    return kind


def _header_lines(headers: HeaderList) -> list[bytes]:
    lines = []
    for name, value in headers:
        if not _TOKEN(name) or _BAD_VALUE(value):
            raise ResponseError(f"invalid header {name!r}: {value!r}")
        lines.append(name + b": " + value + b"\r\n")
    return lines


refresh_date()


class Responder:
    """Writes the response to one request; handed to the handler with it.

    Either `respond()` everything at once (one write), or `start()`, `await write()` for each chunk, then `end()`.
    Without a Content-Length the body is chunked (HTTP/1.1) or delimited by closing the connection (HTTP/1.0).
    HEAD requests and 1xx/204/304 responses never get a body (what the handler writes is dropped). The server
    owns the Connection header (it says `close` when it will close; a handler's `connection: close` is obeyed).
    A response that contradicts itself raises `ResponseError`: the server answers 502 if nothing was sent yet.
    """

    __slots__ = ("status", "close", "extra_headers", "_conn", "_request", "_state", "_head", "_chunked",
                 "_remaining", "_no_body")

    def __init__(self, conn: Connection, request: Request) -> None:
        self.status = 0
        self.close = False
        self.extra_headers: HeaderList = ()  # sent with whatever response the handler gives (e.g. a request id)
        self._conn = conn
        self._request = request
        self._state = _IDLE
        self._head = b""
        self._chunked = False
        self._remaining = -1
        self._no_body = False

    @property
    def started(self) -> bool:
        """Whether `start()` or `respond()` was called."""
        return self._state != _IDLE

    @property
    def ended(self) -> bool:
        """Whether the whole response was handed to the transport."""
        return self._state == _ENDED

    def respond(self, status: int, headers: HeaderList, body: bytes = b"") -> None:
        """The whole response in one transport write; Content-Length is added unless given (and then checked).
        Like `write()` and `end()`, raises `ClientDisconnected` once the connection is closed."""
        if self._state != _IDLE:
            raise ResponseError("the response was already started")
        head = self._build(status, headers, len(body))
        self._state = _ENDED
        conn = self._conn
        if conn.closing:
            raise ClientDisconnected("the client closed the connection")
        if self._no_body or not body:
            conn.write(head)
        elif len(body) < 65536:
            conn.write(head + body)
        else:
            conn.writelines((head, body))

    def error(self, status: int, reason: str) -> None:
        """Answer with the server's error renderer (gatekeeper's JSON error envelope by default)."""
        headers, body = self._conn.render_error(status, reason)
        self.respond(status, headers, body)

    def start(self, status: int, headers: HeaderList) -> None:
        """Start a streamed response; the head goes out with the first `write()` (or `end()`)."""
        if self._state != _IDLE:
            raise ResponseError("the response was already started")
        self._head = self._build(status, headers, None)
        self._state = _PENDING

    async def write(self, chunk: bytes) -> None:
        """Send a piece of the body (an empty one sends a pending head); waits while the client is slow to read
        (`Limits.write_timeout` drops it). Raises `ClientDisconnected` once the client is gone."""
        if self._state == _IDLE or self._state == _ENDED:
            raise ResponseError("write() outside start() ... end()")
        conn = self._conn
        if conn.closing:
            raise ClientDisconnected("the client closed the connection")
        data = b""
        if chunk and not self._no_body:
            if self._remaining >= 0:
                if len(chunk) > self._remaining:
                    raise ResponseError("the body is longer than its Content-Length")
                self._remaining -= len(chunk)
            data = b"%x\r\n%b\r\n" % (len(chunk), chunk) if self._chunked else chunk
        if self._state == _PENDING:
            data = self._head + data
            self._head = b""
            self._state = _STREAMING
        if data:
            conn.write(data)
            if conn.write_paused:
                await conn.drain()

    def end(self, trailers: HeaderList | None = None) -> None:
        """Finish the response; `trailers` are sent with a chunked body (dropped otherwise)."""
        if self._state == _IDLE or self._state == _ENDED:
            raise ResponseError("end() outside start() ... end()")
        if self._remaining > 0 and not self._no_body:
            raise ResponseError("the body is shorter than its Content-Length")
        data = self._head
        self._head = b""
        if self._chunked:
            data += b"0\r\n" + b"".join(_header_lines(trailers or ())) + b"\r\n"
        self._state = _ENDED
        conn = self._conn
        if conn.closing:
            raise ClientDisconnected("the client closed the connection")
        if data:
            conn.write(data)

    def abandon(self) -> bool:
        """Drop the response if nothing of it went out (True): the server then answers an error instead."""
        if self._state == _STREAMING or self._state == _ENDED:
            return False
        self._state = _ENDED
        self._head = b""
        self.close = True
        return True

    def take_over(self) -> tuple[asyncio.Transport, bytes]:
        """After a 101 response to an Upgrade request: the raw transport and the bytes the client already sent
        after the head. The server stops parsing; call `transport.set_protocol()` before the next await. The
        transport is closed when the handler returns."""
        if self.status != 101 or self._state not in (_PENDING, _ENDED):
            raise ResponseError("take_over() needs a 101 response")
        if self._state == _PENDING:
            self._state = _ENDED
            self._conn.write(self._head)
        return self._conn.take_over()

    def _build(self, status: int, headers: HeaderList, length: int | None) -> bytes:
        """The response head; sets the framing of the body that follows."""
        request = self._request
        line = _STATUS_LINES.get(status)
        if line is None or status < 200 and status != 101 or status > 599:
            if not 200 <= status <= 599:
                raise ResponseError(f"status {status} cannot be sent")
            line = b"HTTP/1.1 %d \r\n" % status
        if status == 101 and not request.upgrade:
            raise ResponseError("101 answers an Upgrade request only")
        self.status = status
        close = self._conn.must_close(request)
        no_body = status < 200 or status == 204 or status == 304 or request.method == b"HEAD"
        lines = [line]
        content_length: bytes | None = None
        chunked = date = False
        for name, value in headers:
            kind = _NAMES.get(name)
            if kind is None:
                kind = _name_kind(name)
            if _BAD_VALUE(value):
                raise ResponseError(f"invalid value of header {name!r}: {value!r}")
            if kind:
                if kind == _CONTENT_LENGTH:
                    if content_length is not None and content_length != value or not _DIGITS(value):
                        raise ResponseError(f"invalid Content-Length {value!r}")
                    content_length = value
                    continue
                if kind == _TRANSFER_ENCODING:
                    if value.lower() != b"chunked":
                        raise ResponseError(f"unsupported Transfer-Encoding {value!r}: decode it or drop it")
                    chunked = True
                    continue
                if kind == _CONNECTION and status != 101:
                    close = close or b"close" in value.lower()
                    continue
                date = date or kind == _DATE
            lines.append(name + b": " + value + b"\r\n")
        lines.extend(name + b": " + value + b"\r\n" for name, value in self.extra_headers)
        if content_length is not None and chunked:
            raise ResponseError("both Content-Length and Transfer-Encoding")
        remaining = -1
        if status < 200 or status == 204:
            chunked = False
        elif content_length is not None:
            lines.append(b"content-length: " + content_length + b"\r\n")
            remaining = int(content_length)
            if length is not None and not no_body and remaining != length:
                raise ResponseError("the body length differs from its Content-Length")
        elif length is not None:
            if not no_body or length and status != 304:  # HEAD: the length GET would have
                lines.append(b"content-length: %d\r\n" % length)
            remaining = length
            chunked = False
        elif request.version == b"1.1":
            if chunked or not no_body:
                lines.append(b"transfer-encoding: chunked\r\n")
            chunked = True
        else:
            chunked = False
            close = close or not no_body
        if status != 101:
            if close:
                lines.append(b"connection: close\r\n")
            elif request.version == b"1.0":
                lines.append(b"connection: keep-alive\r\n")
        if not date:
            lines.append(_date[1])
        lines.append(b"\r\n")
        self.close = close
        self._no_body = no_body
        self._chunked = chunked and not no_body
        self._remaining = 0 if no_body else remaining
        return b"".join(lines)


def closing_response(status: int, headers: HeaderList, body: bytes, *, with_body: bool = True) -> bytes:
    """A whole response after which the server closes the connection (its own refusals and failures)."""
    lines = [_STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status, *_header_lines(headers),
             b"content-length: %d\r\nconnection: close\r\n" % len(body), _date[1], b"\r\n"]
    if with_body:
        lines.append(body)
    return b"".join(lines)
