"""`serve.proxy.upstream.max_connections` and `pool_timeout`: an upstream never holds more connections from the
proxy than the cap, HTTP and WebSocket alike; a request waits for a free one, and past `pool_timeout` is 503.
WebSocket tunnels: the message size from the upstream is bounded, and so is the wait for its handshake."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
import websockets

from gatekeeper.config import parse_config
from gatekeeper.config.serve import ProxyUpstream
from gatekeeper.config.types import Duration
from tests.proxy.rawnet import Handler, RawRequest, ask, gateway, keep_answering, raw_upstream, read_head


def held_until(release: asyncio.Event) -> Handler:
    async def answer(request: RawRequest) -> bytes:
        await release.wait()
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(request.target), request.target.encode())

    return keep_answering(answer)


def test_the_cap_keys_parse_with_their_defaults() -> None:
    default = parse_config("", name="t.yaml", env={}, dev=True).serve.proxy.upstream
    assert (default.max_connections, default.pool_timeout) == (256, 5)


async def test_requests_beyond_the_cap_wait_for_a_free_connection(tmp_path: Path) -> None:
    release = asyncio.Event()
    settings = ProxyUpstream(max_connections=2, pool_timeout=Duration(10))
    async with raw_upstream(held_until(release)) as upstream, gateway(tmp_path, upstream.url, settings) as proxy:
        asking = [asyncio.create_task(ask(proxy, "GET", f"/{i}")) for i in range(5)]
        while upstream.open_now < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # time for a third connection, if the cap let one through
        assert upstream.accepted == 2
        release.set()
        answers = await asyncio.gather(*asking)
        assert [(a.status, a.body) for a in answers] == [(200, f"/{i}".encode()) for i in range(5)]
        assert upstream.most_open == 2


async def test_past_the_pool_timeout_the_answer_is_503_with_the_error_envelope(tmp_path: Path) -> None:
    release = asyncio.Event()
    settings = ProxyUpstream(max_connections=1, pool_timeout=Duration(0.2))
    async with raw_upstream(held_until(release)) as upstream, gateway(tmp_path, upstream.url, settings) as proxy:
        first = asyncio.create_task(ask(proxy, "GET", "/first"))
        while upstream.open_now < 1:
            await asyncio.sleep(0.01)
        busy = await ask(proxy, "GET", "/second")
        assert (busy.status, busy.error_code) == (503, 503)
        release.set()
        assert (await first).body == b"/first"
        assert (await ask(proxy, "GET", "/third")).body == b"/third"  # the slot came back
        assert upstream.most_open == 1


async def test_websocket_tunnels_count_against_the_cap(tmp_path: Path) -> None:
    async def echo(ws: websockets.ServerConnection) -> None:
        async for message in ws:
            await ws.send(f"echo:{message}")

    settings = ProxyUpstream(max_connections=1, pool_timeout=Duration(0.2), connect_timeout=Duration(0.3))
    async with websockets.serve(echo, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with gateway(tmp_path, f"http://127.0.0.1:{port}", settings) as proxy:
            url = proxy.replace("http://", "ws://") + "/ws"
            async with websockets.connect(url) as first:
                await first.send("one")
                assert await first.recv() == "echo:one"
                with pytest.raises(websockets.InvalidStatus):  # refused at the handshake, as an unreachable one
                    async with websockets.connect(url):
                        pass
            async with websockets.connect(url) as third:  # the first tunnel ended: its connection is free
                await third.send(json.dumps("three"))
                assert await third.recv() == 'echo:"three"'


async def test_websocket_messages_from_the_upstream_are_bounded(tmp_path: Path) -> None:
    async def sender(ws: websockets.ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):  # the proxy closes with 1009
            async for message in ws:
                await ws.send("x" * int(message))

    settings = ProxyUpstream(websocket_max_message_size=1000)
    # the limit counts bytes on the wire: without compression a message's text is its frame's payload
    async with websockets.serve(sender, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        async with gateway(tmp_path, f"http://127.0.0.1:{port}", settings) as proxy:
            async with websockets.connect(proxy.replace("http://", "ws://") + "/ws", compression=None) as ws:
                await ws.send("1000")
                assert await ws.recv() == "x" * 1000
                await ws.send("1001")
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()
                assert ws.close_code == 1009  # "message too big", as the proxy's side of the tunnel closed it


async def test_a_websocket_upstream_that_never_answers_the_handshake_is_given_up(tmp_path: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        await asyncio.sleep(30)

    settings = ProxyUpstream(response_timeout=Duration(0.3))
    async with raw_upstream(silent) as upstream, gateway(tmp_path, upstream.url, settings) as proxy:
        async with asyncio.timeout(10):
            with pytest.raises(websockets.InvalidStatus):
                async with websockets.connect(proxy.replace("http://", "ws://") + "/ws"):
                    pass


def test_the_websocket_message_size_parses_with_its_default() -> None:
    upstream = parse_config("", name="t.yaml", env={}, dev=True).serve.proxy.upstream
    assert upstream.websocket_max_message_size == 1024 * 1024
