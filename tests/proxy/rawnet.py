"""Raw sockets on 127.0.0.1 for the upstream-client tests: upstreams that send exactly the bytes a test writes,
a client that reads the proxy's answer with h11 (so a truncated message shows), and `gateway(...)`: a whole
gatekeeper with given `serve.proxy.upstream` settings in front of such an upstream."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h11

from gatekeeper.config.serve import ProxyUpstream
from tests.access.support import access_config, access_instance, rule

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
METHODS = ("GET", "POST", "PUT", "HEAD", "DELETE")
WAIT = 10.0  # a bound on every raw read, so a broken proxy fails the test instead of hanging it


@dataclass
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class RawServer:
    """A listening raw upstream: its URL, and how many connections it accepted and held at once."""

    url: str
    accepted: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[RawRequest] = field(default_factory=list)


async def read_head(reader: asyncio.StreamReader) -> RawRequest:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    return RawRequest(method, target, headers)


async def read_body(reader: asyncio.StreamReader, request: RawRequest) -> bytes:
    if "content-length" in request.headers:
        return await reader.readexactly(int(request.headers["content-length"]))
    body = b""
    if request.headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readline()).strip(), 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readline()
    return body


async def read_request(reader: asyncio.StreamReader) -> RawRequest:
    request = await read_head(reader)
    request.body = await read_body(reader, request)
    return request


@contextlib.asynccontextmanager
async def raw_upstream(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[RawServer]:
    """Serve `handler` on 127.0.0.1; the connection is closed when the handler returns."""
    server_state = RawServer("")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_state.accepted += 1
        server_state.open_now += 1
        server_state.most_open = max(server_state.most_open, server_state.open_now)
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        except asyncio.CancelledError:  # the test is over; asyncio's stream callback logs a cancelled handler
            pass
        finally:
            server_state.open_now -= 1
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    server_state.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        yield server_state
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


def keep_answering(answer: Callable[[RawRequest], bytes | Awaitable[bytes]], seen: list[RawRequest] | None = None
                   ) -> Handler:
    """A keep-alive upstream: reads whole requests and writes `answer(request)` for each, until the peer leaves."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await read_request(reader)
            if seen is not None:
                seen.append(request)
            data = answer(request)
            writer.write(data if isinstance(data, bytes) else await data)
            await writer.drain()

    return handler


@contextlib.asynccontextmanager
async def gateway(tmp_path: Path, upstream_url: str, settings: ProxyUpstream | None = None) -> AsyncIterator[str]:
    """A gatekeeper whose proxy listener stands in front of `upstream_url` (one rule, anonymous, every method),
    with `settings` as its `serve.proxy.upstream`; yields the proxy's URL."""
    upstream = _plain(dataclasses.asdict(settings or ProxyUpstream()))
    config = access_config(tmp_path, [rule("raw", "<.*>", upstream=upstream_url, methods=METHODS,
                                           authenticators=("anonymous",))],
                           {"serve": {"proxy": {"upstream": upstream}}})
    async with access_instance(config) as gk:
        yield gk.proxy


def _plain(value: Any) -> Any:
    """Config values as YAML writes them (durations as seconds)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return float(value) if isinstance(value, float) else value


@dataclass
class Answer:
    """The proxy's response as a client reads it; `complete` is False when the connection ended mid-message."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    complete: bool

    def header(self, name: bytes) -> list[bytes]:
        return [v for k, v in self.headers if k == name]

    @property
    def error_code(self) -> int:
        """The code in gatekeeper's error envelope (0 when the body is not one)."""
        try:
            return int(json.loads(self.body)["error"]["code"])
        except (ValueError, KeyError, TypeError):
            return 0


async def ask(base: str, method: str = "GET", target: str = "/", headers: Sequence[tuple[str, str]] = (),
              body: bytes = b"") -> Answer:
    """One request on a fresh connection, read with h11 until the answer ends or the connection does."""
    reader, writer = await asyncio.open_connection(*_host_port(base))
    try:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {_host_port(base)[0]}", *(f"{k}: {v}" for k, v in headers)]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return await read_answer(reader, method)
    finally:
        writer.close()


async def read_answer(reader: asyncio.StreamReader, method: str = "GET") -> Answer:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    status, headers, body = 0, [], b""
    async with asyncio.timeout(WAIT):
        while True:
            try:
                event = client.next_event()
            except h11.RemoteProtocolError:
                return Answer(status, headers, body, complete=False)
            if event is h11.NEED_DATA:
                client.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                status, headers = event.status_code, list(event.headers)
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return Answer(status, headers, body, complete=True)


def _host_port(base: str) -> tuple[str, int]:
    host, _, port = base.split("://", 1)[1].partition(":")
    return host, int(port)
