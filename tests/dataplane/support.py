"""Raw-socket clients for the data-plane server: bytes go out exactly as written, responses are parsed by h11
(so a malformed response fails the test too)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import h11
import uvloop

from gatekeeper.dataplane import Handler, Limits, Request, Responder, Server

TIMEOUT = 5.0


@dataclass
class Response:
    status: int
    headers: dict[bytes, bytes]
    body: bytes
    informational: list[int] = field(default_factory=list)

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def running(handler: Handler, limits: Limits | None = None, **kw: Any) -> AsyncIterator[tuple[Server, int]]:
    """A server for `handler` on a free port of 127.0.0.1: (server, port)."""
    sock = listening_socket()
    server = Server(handler, limits=limits, **kw)
    await server.start(sock)
    try:
        yield server, sock.getsockname()[1]
    finally:
        await server.drain(1.0)


class Client:
    """One raw connection: `send` bytes as they are, `response()` reads the next response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._h11 = h11.Connection(h11.CLIENT)

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, method: str = "GET") -> Response:
        """The next response (interim 1xx ones collected in `informational`)."""
        conn = self._h11
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        conn.send(h11.EndOfMessage())
        informational: list[int] = []
        status, headers, body = 0, {}, b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await asyncio.wait_for(self.reader.read(65536), TIMEOUT))
            elif isinstance(event, h11.InformationalResponse):
                informational.append(event.status_code)
            elif isinstance(event, h11.Response):
                status, headers = event.status_code, dict(event.headers)
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return Response(status, headers, body, informational)
            else:
                raise AssertionError(f"no response, but {event!r}")

    async def closed(self) -> bool:
        """Whether the server closes the connection (reading and dropping what it still sends)."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), TIMEOUT):
                pass
        except ConnectionResetError:
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def exchange(port: int, data: bytes, method: str = "GET", wait_close: float = TIMEOUT) -> tuple[Response, bool]:
    """Send `data` on a new connection: the first response, and whether the server closed the connection within
    `wait_close` seconds."""
    client = await Client.connect(port)
    try:
        await client.send(data)
        response = await client.response(method)
        try:
            closed = await asyncio.wait_for(client.closed(), wait_close)
        except TimeoutError:
            closed = False
        return response, closed
    finally:
        await client.close()


async def hello(request: Request, responder: Responder) -> None:
    responder.respond(200, [(b"content-type", b"text/plain")], b"hello")


async def echo(request: Request, responder: Responder) -> None:
    """Answers with what it understood of the request: method, target, path, query, body."""
    body = await request.read_body()
    summary = b"%s %s %s %s %d:" % (request.method, request.target, request.path, request.query or b"-", len(body))
    responder.respond(200, [(b"content-type", b"text/plain")], summary + body)


@contextlib.contextmanager
def server_thread(handler: Handler, limits: Limits | None = None) -> Iterator[int]:
    """A server on its own uvloop in a thread, for synchronous tests (hypothesis): yields its port."""
    sock = listening_socket()
    loop = uvloop.new_event_loop()
    ready = threading.Event()
    server = Server(handler, limits=limits)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start(sock))
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.drain(1.0))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(TIMEOUT)
    try:
        yield sock.getsockname()[1]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)
