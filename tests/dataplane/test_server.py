"""What a client sees of the data-plane server: keep-alive and pipelining, framing of responses, bodies with
back-pressure, failures of handlers, timeouts and limits, upgrades, drain."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from gatekeeper.dataplane import (
    BodyTimeout,
    ClientDisconnected,
    Limits,
    Request,
    Responder,
)
from tests.dataplane.support import Client, echo, exchange, hello, running

GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
FAST = Limits(header_timeout=0.3, body_timeout=0.3, write_timeout=0.3, keep_alive_timeout=0.3, linger_timeout=0.3)
TEXT = [(b"content-type", b"text/plain")]


def post(body: bytes, *headers: bytes) -> bytes:
    head = b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n" % len(body)
    return head + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


# keep-alive, pipelining, Connection

async def test_pipelined_requests_are_answered_in_order_one_handler_at_a_time() -> None:
    events: list[str] = []

    async def handler(request: Request, responder: Responder) -> None:
        events.append(f"start {request.path.decode()}")
        if request.path == b"/slow":
            await asyncio.sleep(0.05)
        events.append(f"end {request.path.decode()}")
        responder.respond(200, TEXT, request.path)

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        paths = [b"/slow", b"/b", b"/slow", b"/d"]
        await client.send(b"".join(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % p for p in paths))
        assert [(await client.response()).body for _ in paths] == paths
        assert events == [f"{e} {p.decode()}" for p in paths for e in ("start", "end")]
        await client.close()


async def test_keep_alive_connection_serves_many_requests() -> None:
    async with running(echo) as (server, port):
        client = await Client.connect(port)
        for i in range(3):
            await client.send(post(b"x" * i))
            assert (await client.response()).body == b"POST /up /up - %d:%s" % (i, b"x" * i)
        assert server.connections == 1
        await client.close()


@pytest.mark.parametrize(("request_head", "header", "closes"), [
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", b"close", True),
    (b"GET / HTTP/1.0\r\n\r\n", b"close", True),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", b"keep-alive", False),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", b"close", True),
    (GET, None, False),
])
async def test_connection_header(request_head: bytes, header: bytes | None, closes: bool) -> None:
    async with running(hello) as (_, port):
        response, closed = await exchange(port, request_head, wait_close=0.3)
        assert (response.status, response.body) == (200, b"hello")
        assert response.headers.get(b"connection") == header
        assert closed == closes


async def test_handler_asking_to_close_is_obeyed() -> None:
    async def handler(request: Request, responder: Responder) -> None:
        responder.respond(200, [(b"Connection", b"close")], b"bye")

    async with running(handler) as (_, port):
        response, closed = await exchange(port, GET)
        assert (response.body, response.headers[b"connection"], closed) == (b"bye", b"close", True)


async def test_a_bad_request_after_good_pipelined_ones_is_refused_in_its_turn() -> None:
    async with running(echo) as (_, port):
        client = await Client.connect(port)
        await client.send(GET + b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n" + GET)
        assert (await client.response()).status == 200
        assert (await client.response()).status == 400
        assert await client.closed()


async def test_a_malformed_body_is_refused_after_the_requests_before_it() -> None:
    async with running(echo) as (_, port):
        client = await Client.connect(port)
        await client.send(post(b"a") + GET + b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"1\r\nb\r\n1\r\ncX0\r\n\r\n")
        assert [(await client.response()).status for _ in range(3)] == [200, 200, 400]
        assert await client.closed()


async def test_half_closed_client_still_gets_its_answers() -> None:
    async with running(hello) as (_, port):
        client = await Client.connect(port)
        await client.send(GET + GET)
        client.writer.write_eof()
        assert [(await client.response()).body for _ in range(2)] == [b"hello", b"hello"]
        assert await client.closed()


# response framing

async def test_streamed_response_is_chunked_with_trailers() -> None:
    async def handler(request: Request, responder: Responder) -> None:
        responder.start(200, TEXT)
        for part in (b"a", b"", b"bc"):
            await responder.write(part)
        responder.end([(b"x-checksum", b"abc")])

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        await client.send(GET)
        response = await client.response()
        assert (response.body, response.headers[b"transfer-encoding"]) == (b"abc", b"chunked")
        await client.send(GET)  # still usable
        assert (await client.response()).body == b"abc"
        await client.close()


async def test_streamed_response_to_http10_is_delimited_by_close() -> None:
    async def handler(request: Request, responder: Responder) -> None:
        responder.start(200, TEXT)
        await responder.write(b"abc")
        responder.end()

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        await client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        data = await asyncio.wait_for(client.reader.read(), 5)
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"connection: close" in head and b"transfer-encoding" not in head
        assert body == b"abc"


@pytest.mark.parametrize(("method", "status", "length"), [
    ("HEAD", 200, b"5"), ("GET", 204, None), ("GET", 304, None),
])
async def test_no_body_for_head_204_304(method: str, status: int, length: bytes | None) -> None:
    async def handler(request: Request, responder: Responder) -> None:
        responder.respond(status if request.path == b"/x" else 200, TEXT, b"hello")

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        await client.send(b"%s /x HTTP/1.1\r\nHost: a\r\n\r\n" % method.encode() + GET)
        response = await client.response(method)
        assert (response.status, response.body, response.headers.get(b"content-length")) == (status, b"", length)
        assert (await client.response()).body == b"hello"  # nothing extra was sent in between
        await client.close()


@pytest.mark.parametrize("headers", [
    [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")],
    [(b"content-length", b"4")],
    [(b"content-length", b"5"), (b"content-length", b"6")],
    [(b"content-length", b"+5")],
    [(b"transfer-encoding", b"gzip")],
    [(b"x-injected", b"a\r\nset-cookie: evil=1")],
    [(b"bad name", b"v")],
])
async def test_contradictory_response_is_a_502(headers: list[tuple[bytes, bytes]],
                                               caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: Request, responder: Responder) -> None:
        responder.respond(200, headers, b"hello")

    async with running(handler) as (_, port):
        response, closed = await exchange(port, GET)
        assert response.status == 502 and closed
        assert response.json()["error"]["code"] == 502
        assert b"evil" not in response.body
    assert "invalid response from the handler" in caplog.text


async def test_body_longer_than_its_content_length_cuts_the_connection() -> None:
    async def handler(request: Request, responder: Responder) -> None:
        responder.start(200, [(b"content-length", b"6")])
        await responder.write(b"abc")
        await responder.write(b"defg")

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        await client.send(GET)
        with pytest.raises(Exception):  # noqa: B017 - h11 sees the body cut short
            await client.response()


# handler failures

async def test_handler_exception_is_a_500_envelope_without_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: Request, responder: Responder) -> None:
        raise RuntimeError("secret detail")

    async with running(handler) as (_, port):
        with caplog.at_level(logging.ERROR, logger="gatekeeper.dataplane"):
            response, closed = await exchange(port, GET)
    assert response.status == 500 and closed
    assert set(response.json()["error"]) == {"code", "status", "message", "reason"}
    assert b"secret" not in response.body and b"Traceback" not in response.body
    assert "secret detail" in caplog.text


async def test_handler_failing_mid_body_closes_the_connection() -> None:
    async def handler(request: Request, responder: Responder) -> None:
        responder.start(200, TEXT)
        await responder.write(b"partial")
        raise RuntimeError("boom")

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        await client.send(GET)
        with pytest.raises(Exception):  # noqa: B017 - the chunked body never ends
            await client.response()


async def test_handler_returning_without_a_response_is_a_500() -> None:
    async def handler(request: Request, responder: Responder) -> None:
        return None

    async with running(handler) as (_, port):
        response, _ = await exchange(port, GET)
        assert response.status == 500


async def test_custom_error_renderer() -> None:
    def render(status: int, reason: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
        return [(b"content-type", b"text/plain")], f"{status}: {reason}".encode()

    async with running(echo, error_response=render) as (_, port):
        response, _ = await exchange(port, b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n")
        assert (response.status, response.body) == (400, b"400: invalid request-target")


# request bodies

async def test_expect_100_continue_is_answered_when_the_body_is_read() -> None:
    async with running(echo) as (_, port):
        client = await Client.connect(port)
        await client.send(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        assert await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 5) == b"HTTP/1.1 100 Continue\r\n\r\n"
        await client.send(b"abc")
        assert (await client.response()).body == b"POST /up /up - 3:abc"
        await client.close()


async def test_no_100_continue_when_the_handler_answers_without_reading() -> None:
    async def handler(request: Request, responder: Responder) -> None:
        responder.respond(401, TEXT, b"who are you")

    async with running(handler) as (_, port):
        response, closed = await exchange(
            port, b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        assert (response.status, response.informational, closed) == (401, [], True)


async def test_early_answer_while_the_client_is_uploading_then_close() -> None:
    async def handler(request: Request, responder: Responder) -> None:
        responder.error(413, "too large")

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        await client.send(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n" + b"x" * 65536)
        uploading = asyncio.create_task(_upload(client, 2_000_000))
        response = await client.response()
        assert response.status == 413 and response.json()["error"]["code"] == 413
        assert await client.closed()
        await asyncio.wait_for(uploading, 5)


async def _upload(client: Client, size: int) -> None:
    try:
        for _ in range(size // 65536):
            await client.send(b"x" * 65536)
    except OSError:
        pass


@pytest.mark.parametrize("body", [
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + b"3e9\r\n" + b"x" * 1001 + b"\r\n0\r\n\r\n",
])
async def test_body_over_the_read_limit_is_a_413(body: bytes) -> None:
    async def handler(request: Request, responder: Responder) -> None:
        await request.read_body(limit=1000)
        responder.respond(200, TEXT, b"read")

    async with running(handler) as (_, port):
        response, closed = await exchange(port, body)
        assert (response.status, response.informational, closed) == (413, [], True)


async def test_client_leaving_mid_body_raises_client_disconnected() -> None:
    seen: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def handler(request: Request, responder: Responder) -> None:
        try:
            async for _ in request.body():
                pass
        except ClientDisconnected as exc:
            seen.set_result(exc)
            raise
        seen.set_result(AssertionError("the body looked complete"))

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        await client.send(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly some")
        await asyncio.sleep(0.05)
        await client.close()
        assert isinstance(await asyncio.wait_for(seen, 5), ClientDisconnected)


async def test_reading_stops_while_the_handler_does_not_consume() -> None:
    size = 64 * 1024 * 1024
    consume = asyncio.Event()
    received: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def handler(request: Request, responder: Responder) -> None:
        await consume.wait()
        total = 0
        async for chunk in request.body():
            total += len(chunk)
        received.set_result(total)
        responder.respond(200, TEXT, b"ok")

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        client.writer.write(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size + bytes(size))
        with pytest.raises(TimeoutError):  # the server stopped reading: the upload cannot finish
            await asyncio.wait_for(asyncio.shield(client.writer.drain()), 0.5)
        consume.set()
        await asyncio.wait_for(client.writer.drain(), 10)
        assert await asyncio.wait_for(received, 10) == size
        assert (await client.response()).body == b"ok"
        await client.close()


# timeouts

async def test_half_a_head_is_answered_408_and_closed() -> None:
    async with running(hello, FAST) as (_, port):
        client = await Client.connect(port)
        await client.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
        response = await client.response()
        assert response.status == 408 and await client.closed()


async def test_a_silent_connection_is_closed_without_an_answer() -> None:
    async with running(hello, FAST) as (_, port):
        client = await Client.connect(port)
        assert await asyncio.wait_for(client.reader.read(), 5) == b""


async def test_idle_keep_alive_connection_is_closed() -> None:
    async with running(hello, FAST) as (server, port):
        client = await Client.connect(port)
        await client.send(GET)
        assert (await client.response()).status == 200
        assert await asyncio.wait_for(client.reader.read(), 5) == b""
        await asyncio.sleep(0.05)
        assert server.connections == 0


async def test_body_sent_too_slowly_is_a_408() -> None:
    seen: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def handler(request: Request, responder: Responder) -> None:
        try:
            await request.read_body()
        except BodyTimeout as exc:
            seen.set_result(exc)
            raise

    async with running(handler, FAST) as (_, port):
        response, closed = await exchange(port, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        assert (response.status, closed) == (408, True)
        assert isinstance(seen.result(), BodyTimeout)


async def test_client_not_reading_its_response_is_dropped() -> None:
    seen: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def handler(request: Request, responder: Responder) -> None:
        responder.start(200, TEXT)
        try:
            while True:
                await responder.write(bytes(1024 * 1024))
        except ClientDisconnected as exc:
            seen.set_result(exc)
            raise

    async with running(handler, FAST) as (server, port):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(GET)
        assert isinstance(await asyncio.wait_for(seen, 10), ClientDisconnected)
        sock.close()


# limits

async def test_endless_header_value_is_refused_before_it_is_whole() -> None:
    async with running(hello) as (_, port):
        client = await Client.connect(port)
        await client.send(b"GET / HTTP/1.1\r\nHost: a\r\nX: ")
        sent = 0
        with pytest.raises(OSError):
            while sent < 10_000_000:
                await client.send(b"v" * 16384)
                sent += 16384
                await asyncio.sleep(0)
        assert sent < 10_000_000


async def test_endless_chunk_extension_is_refused() -> None:
    async with running(echo) as (_, port):
        client = await Client.connect(port)
        await client.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        await asyncio.sleep(0.05)
        await client.send(b"5;e=")
        uploading = asyncio.create_task(_upload(client, 10_000_000))
        response = await client.response()
        assert response.status == 400 and "chunk" in response.json()["error"]["reason"]
        uploading.cancel()


async def test_idle_and_half_open_connections_do_not_starve_a_request() -> None:
    async with running(hello) as (server, port):
        idle = [await Client.connect(port) for _ in range(150)]
        partial = [await Client.connect(port) for _ in range(150)]
        for client in partial:
            await client.send(b"GET / HTTP/1.1\r\nHost:")
        response, _ = await exchange(port, GET, wait_close=0)
        assert response.body == b"hello"
        assert server.connections >= 300
        for client in idle + partial:
            await client.close()


# upgrades

async def test_take_over_after_101_hands_over_the_raw_stream() -> None:
    async def handler(request: Request, responder: Responder) -> None:
        assert request.upgrade
        responder.start(101, [(b"connection", b"Upgrade"), (b"upgrade", b"echo")])
        transport, early = responder.take_over()
        done = asyncio.get_running_loop().create_future()

        class Echo(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                transport.write(data.upper())

            def connection_lost(self, exc: Exception | None) -> None:
                done.set_result(None)

        transport.set_protocol(Echo())
        transport.write(early.upper())
        await done

    async with running(handler) as (_, port):
        client = await Client.connect(port)
        await client.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly;")
        head = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n") and b"connection: Upgrade" in head
        assert await asyncio.wait_for(client.reader.readexactly(6), 5) == b"EARLY;"
        await client.send(b"GET / HTTP/1.1\r\n")  # no longer HTTP to the server
        assert await asyncio.wait_for(client.reader.readexactly(16), 5) == b"GET / HTTP/1.1\r\n"
        await client.close()


async def test_upgrade_answered_without_101_closes_the_connection() -> None:
    async with running(hello) as (_, port):
        response, closed = await exchange(
            port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n" + GET)
        assert (response.body, response.headers[b"connection"], closed) == (b"hello", b"close", True)


# drain

async def test_drain_closes_idle_connections_and_finishes_requests_in_flight() -> None:
    release = asyncio.Event()

    async def handler(request: Request, responder: Responder) -> None:
        if request.path == b"/slow":
            await release.wait()
        responder.respond(200, TEXT, request.path)

    async with running(handler) as (server, port):
        idle = await Client.connect(port)
        await idle.send(GET)
        await idle.response()
        busy = await Client.connect(port)
        await busy.send(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        await asyncio.sleep(0.05)
        assert server.connections == 2
        draining = asyncio.create_task(server.drain(5))
        assert await asyncio.wait_for(idle.reader.read(), 5) == b""
        release.set()
        response = await busy.response()
        assert (response.body, response.headers[b"connection"]) == (b"/slow", b"close")
        await asyncio.wait_for(draining, 5)
        assert server.connections == 0
        with pytest.raises(OSError):
            await Client.connect(port)


async def test_drain_drops_what_is_still_busy_after_the_timeout() -> None:
    cancelled = asyncio.Event()

    async def handler(request: Request, responder: Responder) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with running(handler) as (server, port):
        client = await Client.connect(port)
        await client.send(GET)
        await asyncio.sleep(0.05)
        await asyncio.wait_for(server.drain(0.2), 5)
        assert cancelled.is_set() and server.connections == 0
        assert await client.closed()


def test_header_block_limit_goes_up_to_what_go_allows() -> None:
    assert Limits(max_header_bytes=1024 * 1024).max_header_bytes == 1024 * 1024
    with pytest.raises(ValueError):
        Limits(max_header_bytes=1024 * 1024 + 1)
