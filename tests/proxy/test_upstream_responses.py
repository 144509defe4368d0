"""What raw-socket upstreams answer, and what the proxy's client reads: bodiless responses keep the connection,
interim (1xx) responses and trailers never become the answer's head, framings the proxy cannot relay faithfully
are 502 before any upstream byte is relayed, a body that breaks off is never relayed as complete, and an upstream
that answers before it has read the whole request body is heard."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from tests.proxy.rawnet import Answer, RawRequest, ask, gateway, keep_answering, raw_upstream, read_answer, read_head

BODILESS = {
    "HEAD": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kind: head\r\n\r\n",
    "/no-content": b"HTTP/1.1 204 No Content\r\nX-Kind: 204\r\n\r\n",
    "/not-modified": b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nX-Kind: 304\r\n\r\n",
    "/interim": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kind: final\r\n\r\nfinal",
}


def bodiless(request: RawRequest) -> bytes:
    if request.method == "HEAD":
        return BODILESS["HEAD"]
    return BODILESS.get(request.target, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kind: get\r\n\r\nhello")


async def test_head_204_304_and_interim_answers_keep_the_connection(tmp_path: Path) -> None:
    async with raw_upstream(keep_answering(bodiless)) as upstream, gateway(tmp_path, upstream.url) as proxy:
        head = await ask(proxy, "HEAD", "/h")
        assert (head.status, head.body, head.header(b"content-length"), head.complete) == (200, b"", [b"5"], True)
        assert (await ask(proxy, "HEAD", "/h")).status == 200
        assert (await ask(proxy, "GET", "/no-content")).status == 204
        assert (await ask(proxy, "GET", "/not-modified")).status == 304
        final = await ask(proxy, "GET", "/interim")
        assert (final.status, final.body, final.header(b"x-kind"), final.header(b"link")) == (200, b"final",
                                                                                               [b"final"], [])
        after = await ask(proxy, "GET", "/after")
        assert (after.status, after.body) == (200, b"hello")
        assert upstream.accepted == 1  # every answer above left the one connection reusable


async def test_trailers_are_dropped_never_sent_as_headers(tmp_path: Path) -> None:
    def with_trailer(request: RawRequest) -> bytes:
        return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                b"6\r\nhello \r\n5\r\nworld\r\n0\r\nX-Checksum: abc123\r\nX-Other: t\r\n\r\n")

    async with raw_upstream(keep_answering(with_trailer)) as upstream, gateway(tmp_path, upstream.url) as proxy:
        for _ in range(2):
            answer = await ask(proxy, "GET", "/t")
            names = {k for k, _ in answer.headers}
            assert (answer.status, answer.body, answer.complete) == (200, b"hello world", True)
            assert not names & {b"x-checksum", b"x-other", b"trailer"}, answer.headers


REFUSED_FRAMINGS = {
    "gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nupstream-bytes",
    "gzip, chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\ne\r\nupstream-bytes\r\n0\r\n\r\n",
    "identity": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nupstream-bytes",
    "two lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nContent-Length: 4\r\n\r\nupstream-bytes",
    "length list": b"HTTP/1.1 200 OK\r\nContent-Length: 14, 4\r\n\r\nupstream-bytes",
    "length and chunked": b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"e\r\nupstream-bytes\r\n0\r\n\r\n",
    "switching protocols": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n"
                           b"upstream-bytes",
}


@pytest.mark.parametrize("name", list(REFUSED_FRAMINGS))
async def test_framings_that_cannot_be_relayed_faithfully_are_502_before_any_upstream_byte(
        tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(REFUSED_FRAMINGS[name])
        await writer.drain()
        await asyncio.sleep(5)  # no close: a body read until the close would hang the answer

    caplog.set_level(logging.WARNING, logger="gatekeeper.proxy")
    async with raw_upstream(answer) as upstream, gateway(tmp_path, upstream.url) as proxy:
        got = await ask(proxy, "GET", "/framed")
        assert (got.status, got.error_code) == (502, 502), got
        assert b"upstream-bytes" not in got.body
        logged = [r.getMessage() for r in caplog.records if r.name == "gatekeeper.proxy"]
        assert any(upstream.url in line for line in logged), logged
        if "Transfer-Encoding" in REFUSED_FRAMINGS[name].split(b"\r\n\r\n")[0].decode() and "length" not in name:
            assert any(name in line for line in logged), logged  # the log names the coding


BROKEN_BODIES = {
    "chunked, then closed": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    "chunked, then garbage": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
    "shorter than its length": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
}


@pytest.mark.parametrize("name", list(BROKEN_BODIES))
async def test_a_body_that_breaks_off_is_never_relayed_as_a_complete_answer(tmp_path: Path, name: str) -> None:
    async def breaks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(BROKEN_BODIES[name])
        await writer.drain()
        await asyncio.sleep(0.2)  # the client has the start of the body by now

    async with raw_upstream(breaks) as upstream, gateway(tmp_path, upstream.url) as proxy:
        answer = await ask(proxy, "GET", "/broken")
        assert answer.status == 200 and not answer.complete, answer
        assert answer.body in (b"", b"hello")


async def _upload(proxy: str, head: bytes, chunk: bytes) -> Answer:
    """Send `head`, then `chunk` over and over (256 MiB at most) while reading the proxy's answer."""
    host, port = proxy.split("://")[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head)

    async def upload() -> None:
        with contextlib.suppress(ConnectionError):
            for _ in range(256 * 1024 * 1024 // len(chunk)):
                writer.write(chunk)
                await writer.drain()

    sending = asyncio.create_task(upload())
    try:
        return await read_answer(reader, "POST")
    finally:
        sending.cancel()
        writer.close()


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_an_upstream_that_answers_before_reading_the_body_is_heard(tmp_path: Path, framing: str) -> None:
    """The upstream reads the head, answers 413 with `Connection: close` and closes, while the client uploads.
    It lingers as nginx (`lingering_close`) and Go's net/http do: half-closed, it reads and drops what still
    comes for a moment, because closing on unread data resets the connection and the peer's kernel then
    discards the answer before anyone can read it."""
    async def refuses(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo big!")
        await writer.drain()
        writer.write_eof()
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(1):
                while await reader.read(1 << 16):
                    pass

    if framing == "chunked":
        head, chunk = b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", \
            b"10000\r\n" + b"u" * 0x10000 + b"\r\n"
    else:
        head, chunk = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 268435456\r\n\r\n", b"u" * 0x10000
    async with raw_upstream(refuses) as upstream, gateway(tmp_path, upstream.url) as proxy:
        answer = await _upload(proxy, head, chunk)
        assert (answer.status, answer.body) == (413, b"too big!"), answer
