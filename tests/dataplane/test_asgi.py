"""A Starlette app served through `AsgiBridge`, as gatekeeper's Kratos API under /.auth will be."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from gatekeeper.dataplane.asgi import AsgiBridge
from tests.dataplane.support import Client, exchange, running

endings: list[str] = []  # how calls of the app ended


async def scope(request: StarletteRequest) -> Response:
    s = request.scope
    return JSONResponse({key: s[key] for key in ("http_version", "method", "scheme", "path", "root_path")}
                        | {"raw_path": s["raw_path"].decode(), "query_string": s["query_string"].decode(),
                           "client": list(s["client"]), "server": list(s["server"]), "spec": s["asgi"]["spec_version"],
                           "headers": [[n.decode(), v.decode()] for n, v in s["headers"]]})


async def echo(request: StarletteRequest) -> Response:
    body = await request.body()
    return JSONResponse({"length": len(body), "json": await request.json() if body else None})


async def stream(request: StarletteRequest) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"part {i}\n".encode()
            await asyncio.sleep(0)

    return StreamingResponse(parts(), media_type="text/plain")


async def login(request: StarletteRequest) -> Response:
    response = PlainTextResponse("logged in")
    response.set_cookie("session", "abc", httponly=True)
    response.set_cookie("csrf", "xyz", samesite="strict")
    return response


async def forever(request: StarletteRequest) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 65536

    return StreamingResponse(parts())


kratos = Starlette(routes=[Route("/scope", scope), Route("/echo", echo, methods=["POST"]), Route("/stream", stream),
                           Route("/login", login, methods=["POST"]), Route("/forever", forever)])
app = Starlette(routes=[Mount("/.auth", app=kratos)])


async def recording(scope: Any, receive: Any, send: Any) -> None:
    """`app`, noting in `endings` how each call ended."""
    try:
        await app(scope, receive, send)
    except BaseException as exc:
        endings.append(type(exc).__name__)
        raise
    endings.append("returned")


bridge = AsgiBridge(recording)


async def call(data: bytes, method: str = "GET") -> Any:
    async with running(bridge) as (_, port):
        response, _ = await exchange(port, data, method, wait_close=0)
        return response


async def test_scope_is_what_uvicorn_gives() -> None:
    response = await call(b"GET /.auth/scope?a=%20b&c HTTP/1.1\r\nHost: gk\r\nX-Thing: 1\r\n\r\n")
    data = response.json()
    assert response.status == 200
    assert data["http_version"] == "1.1" and data["method"] == "GET" and data["scheme"] == "http"
    assert (data["path"], data["raw_path"], data["root_path"]) == ("/.auth/scope", "/.auth/scope", "/.auth")
    assert data["query_string"] == "a=%20b&c"
    assert data["client"][0] == "127.0.0.1" and data["server"][0] == "127.0.0.1"
    assert data["headers"] == [["host", "gk"], ["x-thing", "1"]]
    assert data["spec"] == "2.4"


async def test_path_is_percent_decoded_raw_path_is_not() -> None:
    inner = Starlette(routes=[Route("/{name}", scope)])
    async with running(AsgiBridge(inner)) as (_, port):
        response, _ = await exchange(port, b"GET /a%20b HTTP/1.1\r\nHost: gk\r\n\r\n", wait_close=0)
    assert (response.json()["path"], response.json()["raw_path"]) == ("/a b", "/a%20b")


async def test_json_request_body() -> None:
    body = b'{"traits": {"email": "a@example.com"}}'
    response = await call(b"POST /.auth/echo HTTP/1.1\r\nHost: gk\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert (response.status, response.json()) == (200, {"length": len(body), "json": {"traits": {
        "email": "a@example.com"}}})


async def test_bodyless_post_reads_an_empty_body() -> None:
    for head in (b"", b"Content-Length: 0\r\n"):
        response = await call(b"POST /.auth/echo HTTP/1.1\r\nHost: gk\r\n%s\r\n" % head)
        assert (response.status, response.json()) == (200, {"length": 0, "json": None})


async def test_chunked_request_body() -> None:
    response = await call(b"POST /.auth/echo HTTP/1.1\r\nHost: gk\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"3\r\n{\"a\r\n5\r\n\": 1}\r\n0\r\n\r\n")
    assert response.json() == {"length": 8, "json": {"a": 1}}


async def test_streaming_response() -> None:
    response = await call(b"GET /.auth/stream HTTP/1.1\r\nHost: gk\r\n\r\n")
    assert (response.status, response.body) == (200, b"part 0\npart 1\npart 2\n")
    assert response.headers[b"transfer-encoding"] == b"chunked"


async def test_cookies_are_set() -> None:
    async with running(bridge) as (_, port):
        client = await Client.connect(port)
        await client.send(b"POST /.auth/login HTTP/1.1\r\nHost: gk\r\nContent-Length: 0\r\n\r\n")
        data = await asyncio.wait_for(client.reader.readuntil(b"logged in"), 5)
        await client.close()
    cookies = [line for line in data.split(b"\r\n") if line.lower().startswith(b"set-cookie:")]
    assert len(cookies) == 2
    assert b"session=abc" in cookies[0] and b"HttpOnly" in cookies[0]
    assert b"csrf=xyz" in cookies[1] and b"SameSite=strict" in cookies[1]


async def test_not_found_and_method_not_allowed() -> None:
    assert (await call(b"GET /.auth/nothing HTTP/1.1\r\nHost: gk\r\n\r\n")).status == 404
    assert (await call(b"GET /.auth/echo HTTP/1.1\r\nHost: gk\r\n\r\n")).status == 405


async def test_head_gets_no_body() -> None:
    async with running(bridge) as (_, port):
        client = await Client.connect(port)
        await client.send(b"HEAD /.auth/scope HTTP/1.1\r\nHost: gk\r\n\r\n"
                          b"GET /.auth/scope HTTP/1.1\r\nHost: gk\r\n\r\n")
        head = await client.response("HEAD")
        get = await client.response()
        await client.close()
    assert head.body == b"" and int(head.headers[b"content-length"]) > 0 and get.status == 200


async def test_malformed_body_is_a_400_not_the_apps_500() -> None:
    response = await call(b"POST /.auth/echo HTTP/1.1\r\nHost: gk\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"3\r\nabcX\r\n0\r\n\r\n")
    assert response.status == 400 and response.json()["error"]["code"] == 400


async def test_streaming_stops_when_the_client_leaves() -> None:
    async with running(bridge) as (server, port):
        client = await Client.connect(port)
        await client.send(b"GET /.auth/forever HTTP/1.1\r\nHost: gk\r\n\r\n")
        await asyncio.wait_for(client.reader.readexactly(100000), 5)
        endings.clear()
        client.writer.transport.abort()
        for _ in range(100):
            if endings and server.connections == 0:
                break
            await asyncio.sleep(0.05)
        assert (endings, server.connections) == (["ClientDisconnect"], 0)


async def test_receive_says_disconnect_when_the_client_leaves() -> None:
    messages: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            messages.append(message["type"])
            if message["type"] == "http.disconnect":
                return

    async with running(AsgiBridge(app)) as (server, port):
        client = await Client.connect(port)
        await client.send(b"POST / HTTP/1.1\r\nHost: gk\r\nContent-Length: 3\r\n\r\nabc")
        await asyncio.sleep(0.05)
        await client.close()
        for _ in range(100):
            if messages[-1:] == ["http.disconnect"]:
                break
            await asyncio.sleep(0.02)
    assert messages == ["http.request", "http.request", "http.disconnect"]
