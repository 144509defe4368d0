"""WebSocket tunnels on the data plane. Once the access rules let an upgrade through, the handshake goes to the
upstream as the client sent it (with the rule's headers), the upstream's answer comes back, and after a 101 the
bytes flow both ways untouched: subprotocols, extensions and pings work end to end. A frame reader on each
direction bounds the size of a message (`serve.proxy.upstream.websocket_max_message_size`: a larger one closes
both sides with 1009); the session ending closes both with 1008. Tunnels count against the upstream's
`max_connections` apart from its HTTP connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from urllib.parse import urlsplit

from gatekeeper.dataplane import Request, Responder
from gatekeeper.errors import GatekeeperError, UpstreamBusy, UpstreamError, UpstreamTimeout
from gatekeeper.proxy.answer import refuse
from gatekeeper.proxy.forward import Forwarder, hop_by_hop

log = logging.getLogger("gatekeeper.proxy")

MAX_HEAD = 64 * 1024
HIGH_WATER = 256 * 1024
POLICY_VIOLATION, TOO_BIG = 1008, 1009


class FrameLimit:
    """Follows the frames of one direction of a WebSocket connection (headers only, payloads skipped) and says
    when a message grows past `limit` bytes."""

    __slots__ = ("limit", "head", "skip", "message")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.head = b""
        self.skip = 0
        self.message = 0

    def feed(self, data: bytes) -> bool:
        """False once a message is larger than the limit."""
        i, end = 0, len(data)
        while i < end:
            if self.skip:
                taken = min(self.skip, end - i)
                self.skip -= taken
                i += taken
                continue
            need = self._head_size()
            if len(self.head) < need:
                taken = min(need - len(self.head), end - i)
                self.head += data[i:i + taken]
                i += taken
                if len(self.head) < self._head_size():
                    continue
            if not self._frame():
                return False
        return True

    def _head_size(self) -> int:
        if len(self.head) < 2:
            return 2
        length, masked = self.head[1] & 0x7F, self.head[1] & 0x80
        return 2 + (2 if length == 126 else 8 if length == 127 else 0) + (4 if masked else 0)

    def _frame(self) -> bool:
        head, self.head = self.head, b""
        length = head[1] & 0x7F
        if length == 126:
            length = struct.unpack_from("!H", head, 2)[0]
        elif length == 127:
            length = struct.unpack_from("!Q", head, 2)[0]
        self.skip = length
        if head[0] & 0x0F < 0x8:  # a data frame (text, binary, continuation); control frames are small
            self.message += length
            if self.limit and self.message > self.limit:
                return False
            if head[0] & 0x80:  # FIN: the message is complete
                self.message = 0
        return True


def close_frame(code: int, *, masked: bool) -> bytes:
    """A close frame with `code` (masked: from us as the upstream's client)."""
    payload = struct.pack("!H", code)
    if not masked:
        return b"\x88\x02" + payload
    mask = os.urandom(4)
    return b"\x88\x82" + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class _Client(asyncio.Protocol):
    """The client's side once upgraded: what it sends goes to the upstream (reading pauses while the upstream
    is slow to take it)."""

    def __init__(self, tunnel: _Tunnel) -> None:
        self.tunnel = tunnel
        self.writable = asyncio.Event()
        self.writable.set()
        self.closed = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.tunnel.from_client(data)

    def eof_received(self) -> bool:
        self.closed.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()
        self.closed.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()


class _Tunnel:
    def __init__(self, client: asyncio.Transport, upstream: asyncio.StreamWriter, limit: int) -> None:
        self.client, self.upstream = client, upstream
        self.inbound, self.outbound = FrameLimit(limit), FrameLimit(limit)
        self.side = _Client(self)
        self.too_big = asyncio.Event()

    def from_client(self, data: bytes) -> None:
        if not self.inbound.feed(data):
            self.too_big.set()
            return
        self.upstream.write(data)
        if self.upstream.transport.get_write_buffer_size() > HIGH_WATER:
            self.client.pause_reading()
            asyncio.ensure_future(self._resume_client())

    async def _resume_client(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.upstream.drain()
        if not self.client.is_closing():
            self.client.resume_reading()

    async def to_client(self, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(65536):
            if not self.outbound.feed(data):
                self.too_big.set()
                return
            self.client.write(data)
            await self.side.writable.wait()
            if self.client.is_closing():
                return

    def close(self, code: int | None) -> None:
        if code is not None:
            with contextlib.suppress(Exception):
                self.client.write(close_frame(code, masked=False))
                self.upstream.write(close_frame(code, masked=True))
        self.client.close()
        self.upstream.close()


class Tunnels:
    """WebSocket tunnels to upstreams, with the forwarder's timeouts, TLS trust and connection cap."""

    def __init__(self, forwarder: Forwarder) -> None:
        self.settings, self.tls = forwarder.settings, forwarder.tls
        self._open: dict[str, int] = {}

    async def open(self, request: Request, responder: Responder, origin: str, target: str,
                   headers: list[tuple[bytes, bytes]], ended: asyncio.Event) -> None:
        """Relay the handshake; after a 101, splice until either side closes or `ended` is set."""
        cap = self.settings.max_connections
        if cap and self._open.get(origin, 0) >= cap:
            refuse(responder, UpstreamBusy(reason="every connection to the upstream is in use"))
            return
        self._open[origin] = self._open.get(origin, 0) + 1
        try:
            await self._open_tunnel(request, responder, origin, target, headers, ended)
        finally:
            self._open[origin] -= 1

    async def _open_tunnel(self, request: Request, responder: Responder, origin: str, target: str,
                           headers: list[tuple[bytes, bytes]], ended: asyncio.Event) -> None:
        try:
            reader, writer = await self._connect(origin)
        except GatekeeperError as exc:
            refuse(responder, exc)
            return
        try:
            head = b"".join([b"GET ", target.encode("latin-1"), b" HTTP/1.1\r\n",
                             *(b"%s: %s\r\n" % (k, v) for k, v in headers),
                             b"connection: upgrade\r\nupgrade: websocket\r\n\r\n"])
            writer.write(head)
            try:
                status, answer = await asyncio.wait_for(self._answer(reader),
                                                        float(self.settings.response_timeout) or None)
            except TimeoutError:
                refuse(responder, UpstreamTimeout(reason="the upstream did not answer the upgrade in time"))
                return
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                log.warning("websocket upstream %s answered the upgrade badly: %s", origin, type(exc).__name__,
                            extra={"upstream": origin})
                refuse(responder, UpstreamError(reason="the upstream's answer to the upgrade is unusable"))
                return
            if status != 101:
                responder.respond(status, answer)  # e.g. the app refused the upgrade: its status, no body
                return
            responder.start(101, [*answer, (b"connection", b"upgrade"), (b"upgrade", b"websocket")])
            transport, early = responder.take_over()
            tunnel = _Tunnel(transport, writer, self.settings.websocket_max_message_size)
            transport.set_protocol(tunnel.side)
            if early:
                tunnel.from_client(early)
            await self._splice(tunnel, reader, ended)
        finally:
            writer.close()

    async def _splice(self, tunnel: _Tunnel, reader: asyncio.StreamReader, ended: asyncio.Event) -> None:
        watchers = {asyncio.create_task(tunnel.to_client(reader)): None,
                    asyncio.create_task(tunnel.side.closed.wait()): None,
                    asyncio.create_task(ended.wait()): POLICY_VIOLATION,
                    asyncio.create_task(tunnel.too_big.wait()): TOO_BIG}
        try:
            done, _ = await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in watchers:
                task.cancel()
        code = TOO_BIG if tunnel.too_big.is_set() else next((watchers[t] for t in done if watchers[t]), None)
        tunnel.close(code)

    async def _connect(self, origin: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(origin)
        tls = parts.scheme in ("https", "wss")
        host, port = parts.hostname or "", parts.port or (443 if tls else 80)
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=self.tls if tls else None,
                                        server_hostname=host if tls else None, limit=MAX_HEAD),
                float(self.settings.connect_timeout) or None)
        except TimeoutError:
            raise UpstreamTimeout(reason="the upstream did not accept the connection in time") from None
        except OSError as exc:
            log.warning("websocket upstream %s could not be reached: %s", origin, str(exc) or type(exc).__name__,
                        extra={"upstream": origin})
            raise UpstreamError(reason=f"the upstream could not be reached ({type(exc).__name__})") from None

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, list[tuple[bytes, bytes]]]:
        """The status and headers (hop-by-hop removed) of the upstream's answer to the handshake."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        version, status, _ = (lines[0].split(b" ", 2) + [b""])[:3]
        if not version.startswith(b"HTTP/1.") or not status.isdigit():
            raise ValueError("not an HTTP/1.x status line")
        fields = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise ValueError("a malformed header line")
            fields.append((name.lower(), value.strip()))
        drop = hop_by_hop(fields) | {b"content-length"}
        return int(status), [(k, v) for k, v in fields if k not in drop]

