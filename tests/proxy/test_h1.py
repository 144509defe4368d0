"""The proxy's HTTP/1.1 upstream client against a raw socket server that does what real upstreams do:
keep-alive reuse, connections closed while idle, close-delimited bodies, HEAD, 204, chunked uploads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.access.support import access_config, access_instance, rule


class RawUpstream:
    """Answers by path; records each request and the connection it came on."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str, bytes]] = []
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn_id = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding") == "chunked":
                    while True:
                        size = int((await reader.readline()).strip(), 16)
                        chunk = await reader.readexactly(size + 2)
                        if size == 0:
                            break
                        body += chunk[:-2]
                self.seen.append((conn_id, f"{method} {target}", body))
                if target == "/close-delimited":
                    writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
                    await writer.drain()
                    break
                if target == "/empty":
                    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                elif target == "/glued":  # a second, unsolicited response glued after the answer
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nglued"
                                 b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected")
                elif target == "/inject-later":  # answers, then sends a response nobody asked for while idle
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
                    await writer.drain()
                    await asyncio.sleep(0.05)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected")
                elif target == "/then-close":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    await writer.drain()
                    break  # closes an idle keep-alive connection, as upstreams do on their idle timeout
                else:
                    payload = b"%d:%s:%s" % (conn_id, target.encode(), body)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload))
                    if method != "HEAD":
                        writer.write(payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def raw_upstream() -> AsyncIterator[tuple[str, RawUpstream]]:
    upstream = RawUpstream()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", upstream
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


async def test_edge_cases_through_the_proxy(tmp_path: Path, raw_upstream: tuple[str, RawUpstream]) -> None:
    url, upstream = raw_upstream
    rules = [rule("raw", "http://<[^/]+>/<.*>", upstream=url, methods=("GET", "POST", "HEAD"),
                  authenticators=("anonymous",))]
    async with access_instance(access_config(tmp_path, rules)) as gk, httpx.AsyncClient() as client:
        first = await client.get(f"{gk.proxy}/a")
        second = await client.get(f"{gk.proxy}/b")
        assert first.text.startswith("1:/a") and second.text.startswith("1:/b")  # one kept-alive connection
        assert (await client.get(f"{gk.proxy}/close-delimited")).text == "until the end"
        assert (await client.get(f"{gk.proxy}/then-close")).text == "ok"
        again = await client.get(f"{gk.proxy}/c")  # the pooled connection was closed while idle: retried
        assert again.status_code == 200 and again.text.endswith(":/c:")
        head = await client.head(f"{gk.proxy}/h")
        assert head.status_code == 200 and head.content == b""
        assert (await client.get(f"{gk.proxy}/empty")).status_code == 204

        async def chunks():  # type: ignore[no-untyped-def]
            yield b"chunk-one,"
            yield b"chunk-two"

        posted = await client.post(f"{gk.proxy}/upload", content=chunks())
        assert posted.text.endswith(":/upload:chunk-one,chunk-two")
        sized = await client.post(f"{gk.proxy}/sized", content=b"x" * 100)
        assert sized.text.endswith(":/sized:" + "x" * 100)
        assert (await client.get(f"{gk.proxy}/after-all")).status_code == 200


@pytest.mark.parametrize("path", ["/glued", "/inject-later"])
async def test_bytes_an_upstream_sends_unasked_never_answer_another_request(
        tmp_path: Path, raw_upstream: tuple[str, RawUpstream], path: str) -> None:
    """A response glued after the answer, or sent on an idle pooled connection, must not become the answer to
    the next client's request: the connection that received it is discarded."""
    url, upstream = raw_upstream
    rules = [rule("raw", "http://<[^/]+>/<.*>", upstream=url, authenticators=("anonymous",))]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        async with httpx.AsyncClient() as alice:
            first = await alice.get(f"{gk.proxy}{path}")
            assert first.status_code == 200 and first.text in ("glued", "first")
        await asyncio.sleep(0.2)  # the unsolicited bytes arrive while the connection sits in the pool
        answers = []
        for client_path in ("/bob", "/carol", "/dave"):
            async with httpx.AsyncClient() as other:
                answers.append((await other.get(f"{gk.proxy}{client_path}")).text)
        assert [a.split(":")[1:2] for a in answers] == [["/bob"], ["/carol"], ["/dave"]], answers


async def test_query_strings_pass_byte_for_byte(tmp_path: Path, raw_upstream: tuple[str, RawUpstream]) -> None:
    from tests.access.support import raw_get

    url, upstream = raw_upstream
    rules = [rule("raw", "http://<[^/]+>/<.*>", upstream=url, authenticators=("anonymous",))]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        status, body = await raw_get(gk.proxy, b"/q?name=caf%C3%A9&x=%2F&y=a+b&z=%00")
        assert status == 200, body
        assert upstream.seen[-1][1] == "GET /q?name=caf%C3%A9&x=%2F&y=a+b&z=%00"
