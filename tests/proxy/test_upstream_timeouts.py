"""`serve.proxy.upstream.*_timeout`: the upstream connection's own timeouts, against raw-socket upstreams."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatekeeper.config import ConfigError, parse_config
from gatekeeper.config.serve import ProxyUpstream
from gatekeeper.config.types import Duration
from tests.proxy.rawnet import RawRequest, ask, gateway, keep_answering, raw_upstream, read_answer, read_head

FAST = ProxyUpstream(connect_timeout=Duration(0.3), response_timeout=Duration(0.3), write_timeout=Duration(0.3))


def ok(request: RawRequest) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_the_upstream_keys_parse_with_their_defaults_and_refuse_negative_durations() -> None:
    default = parse_config("", name="t.yaml", env={}, dev=True).serve.proxy.upstream
    assert default == ProxyUpstream(connect_timeout=Duration(5), response_timeout=Duration(120),
                                    write_timeout=Duration(60), idle_timeout=Duration(90))
    text = "serve: {proxy: {upstream: {connect_timeout: 2s, response_timeout: 1m, idle_timeout: 0}}}"
    upstream = parse_config(text, name="t.yaml", env={}, dev=True).serve.proxy.upstream
    assert (upstream.connect_timeout, upstream.response_timeout, upstream.idle_timeout) == (2, 60, 0)
    with pytest.raises(ConfigError) as bad:
        parse_config("serve: {proxy: {upstream: {write_timeout: -1}}}", name="t.yaml", env={}, dev=True)
    assert "serve.proxy.upstream.write_timeout: must not be negative" in str(bad.value)


async def test_an_upstream_that_never_answers_is_a_504_after_the_response_timeout(tmp_path: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await asyncio.sleep(30)

    async with raw_upstream(silent) as upstream, gateway(tmp_path, upstream.url, FAST) as proxy:
        answer = await ask(proxy, "GET", "/never")
        assert (answer.status, answer.error_code) == (504, 504)


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[str]:
    """A port whose accept queue is full: a connection attempt gets no answer (the SYN is dropped)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        filler.close()
        listener.close()


async def test_an_upstream_that_does_not_accept_is_a_504_after_the_connect_timeout(tmp_path: Path) -> None:
    async with black_hole() as url, gateway(tmp_path, url, FAST) as proxy:
        answer = await ask(proxy, "GET", "/x")
        assert (answer.status, answer.error_code) == (504, 504)


async def test_an_upstream_that_stops_reading_a_streamed_body_fails_the_request(tmp_path: Path) -> None:
    """The upstream reads the head, then neither reads the body nor answers: the upload must not hang."""
    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await asyncio.sleep(30)

    settings = ProxyUpstream(write_timeout=Duration(0.3), response_timeout=Duration(30))
    async with raw_upstream(deaf) as upstream, gateway(tmp_path, upstream.url, settings) as proxy:
        reader, writer = await asyncio.open_connection(*proxy.split("://")[1].split(":"))
        writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")

        async def upload() -> None:
            with contextlib.suppress(ConnectionError):
                for _ in range(4096):  # up to 256 MiB: far more than the socket buffers on the way hold
                    writer.write(b"10000\r\n" + b"u" * 0x10000 + b"\r\n")
                    await writer.drain()

        sending = asyncio.create_task(upload())
        try:
            answer = await read_answer(reader)
        finally:
            sending.cancel()
            writer.close()
        assert answer.status in (502, 504) and answer.error_code == answer.status


async def test_idle_connections_are_reused_until_the_idle_timeout(tmp_path: Path) -> None:
    settings = ProxyUpstream(idle_timeout=Duration(0.2))
    async with raw_upstream(keep_answering(ok)) as upstream, gateway(tmp_path, upstream.url, settings) as proxy:
        assert (await ask(proxy, "GET", "/1")).body == b"ok"
        assert (await ask(proxy, "GET", "/2")).body == b"ok"
        assert upstream.accepted == 1
        await asyncio.sleep(0.4)  # longer than idle_timeout: the pooled connection is not used again
        assert (await ask(proxy, "GET", "/3")).body == b"ok"
        assert upstream.accepted == 2
