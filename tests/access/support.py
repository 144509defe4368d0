"""Helpers for access tests: a fake session source (only here, as the issue allows), an echo upstream,
and `access_instance(...)`, a whole gatekeeper running given rules and handler config."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from gatekeeper.config import Config, parse_config
from gatekeeper.errors import StoreUnavailable
from tests.support.servers import Instance, running_gatekeeper

SECRET = "test-cookie-secret-0123456789abcdef"

ALICE = {
    "id": "sess-alice", "active": True, "aal": "aal2",
    "identity": {"id": "user-alice", "schema_id": "default", "state": "active",
                 "traits": {"email": "alice@example.com", "name": "Alice"},
                 "metadata_public": {"plan": "pro"}, "metadata_admin": {"roles": ["admin"]}},
    "authentication_methods": [{"method": "password", "aal": "aal1"}, {"method": "totp", "aal": "aal2"}],
}
BOB = {
    "id": "sess-bob", "active": True, "aal": "aal1",
    "identity": {"id": "user-bob", "schema_id": "default", "state": "active",
                 "traits": {"email": "bob@example.com"}, "metadata_public": {}, "metadata_admin": {"roles": []}},
    "authentication_methods": [{"method": "password", "aal": "aal1"}],
}


class FakeSessions:
    """Stands in for the identity half's SessionSource: token -> session JSON."""

    def __init__(self, sessions: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.sessions = dict(sessions or {"alice-token": ALICE, "bob-token": BOB})
        self.down = False
        self.calls = 0

    async def session_for_token(self, token: str) -> Mapping[str, Any] | None:
        self.calls += 1
        if self.down:
            raise StoreUnavailable(reason="fake store is down")
        return self.sessions.get(token)


ENABLED_EVERYTHING: dict[str, Any] = {
    "authenticators": {name: {"enabled": True} for name in
                       ("noop", "anonymous", "unauthorized", "cookie_session", "bearer_token")},
    "authorizers": {name: {"enabled": True} for name in ("allow", "deny", "expression")},
    "mutators": {name: {"enabled": True} for name in ("noop", "header", "cookie")},
    "errors": {"handlers": {"json": {"enabled": True}, "redirect": {"enabled": True, "config": {"to": "/login"}},
                            "www_authenticate": {"enabled": True}}},
}


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) else value
    return out


def access_config(tmp_path: Path, rules: list[dict[str, Any]] | None, overrides: Mapping[str, Any] | None = None,
                  *, repositories: list[str] | None = None) -> Config:
    """A validated Config: SQLite in tmp_path, the rules written to a file, every basic handler enabled."""
    data: dict[str, Any] = {"dsn": f"sqlite://{tmp_path}/gk.db?_fk=true", "secrets": {"cookie": [SECRET]},
                            "log": {"level": "warning"}, "access_rules": {"watch_interval": "50ms"}}
    data = merge(data, ENABLED_EVERYTHING)
    if rules is not None:
        path = tmp_path / "rules.yaml"
        path.write_text(yaml.safe_dump(rules))
        data["access_rules"]["repositories"] = [f"file://{path}"]
    if repositories is not None:
        data["access_rules"]["repositories"] = repositories
    data = merge(data, overrides or {})
    return parse_config(yaml.safe_dump(data), name="test-config.yaml", env={})


@contextlib.asynccontextmanager
async def access_instance(config: Config, sessions: FakeSessions | None = None) -> AsyncIterator[Instance]:
    async with running_gatekeeper(config) as instance:
        instance.container.access.deps.session_source = sessions or FakeSessions()
        for _ in range(200):
            if instance.container.access.repository.current is not None:
                break
            await asyncio.sleep(0.01)
        yield instance


def rule(rule_id: str, url: str, *, methods: tuple[str, ...] = ("GET", "POST"), upstream: str = "",
         authenticators: tuple[Any, ...] = ("noop",), authorizer: Any = "allow", mutators: tuple[Any, ...] = ("noop",),
         errors: tuple[Any, ...] = (), **extra: Any) -> dict[str, Any]:
    """A rule dict; handlers given as a name or (name, config)."""
    def ref(h: Any) -> dict[str, Any]:
        return {"handler": h} if isinstance(h, str) else {"handler": h[0], "config": h[1]}

    out: dict[str, Any] = {"id": rule_id, "match": {"url": url, "methods": list(methods)},
                           "authenticators": [ref(a) for a in authenticators], "authorizer": ref(authorizer),
                           "mutators": [ref(m) for m in mutators], **extra}
    if upstream:
        out["upstream"] = {"url": upstream}
    if errors:
        out["errors"] = [ref(e) for e in errors]
    return out


# --- an upstream that shows what it received ---------------------------------------------------------

async def _echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({
        "method": request.method, "path": request.url.path,
        "raw_path": request.scope.get("raw_path", b"").decode("latin-1"), "query": request.url.query,
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"]],
        "body": body.decode("utf-8", "replace"),
    }, headers={"X-Upstream": "echo", "Connection": "keep-alive, X-Hop", "X-Hop": "secret-hop"})


async def _sse(request: Request) -> Response:
    async def events() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"data: event {i}\n\n".encode()
            await asyncio.sleep(0.05)

    return StreamingResponse(events(), media_type="text/event-stream")


async def _slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("s", "2")))
    return Response("late")


async def _big(request: Request) -> Response:
    n = int(request.query_params.get("n", "1000000"))

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        while sent < n:
            size = min(65536, n - sent)
            sent += size
            yield b"x" * size

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def _count(request: Request) -> Response:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
    return JSONResponse({"received": total})


async def _ws(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=(websocket.scope.get("subprotocols") or [None])[0])
    headers = {k.decode(): v.decode() for k, v in websocket.scope["headers"]}
    await websocket.send_text(json.dumps({"x-user-id": headers.get("x-user-id")}))
    while True:
        try:
            message = await websocket.receive_text()
        except Exception:  # noqa: BLE001
            return
        await websocket.send_text(f"echo:{message}")


echo_app = Starlette(routes=[
    Route("/sse", _sse), Route("/slow", _slow), Route("/big", _big), Route("/count", _count, methods=["POST", "PUT"]),
    WebSocketRoute("/ws", _ws),
    Route("/{path:path}", _echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
])


async def raw_get(base: str, raw_path: bytes, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    """GET with the request target sent byte for byte (HTTP clients normalise dot-segments away)."""
    host, _, port = base.split("://", 1)[1].partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [b"GET " + raw_path + b" HTTP/1.1", f"Host: {host}:{port}".encode(), b"Connection: close"]
    lines += [f"{k}: {v}".encode("latin-1") for k, v in (headers or {}).items()]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if not size:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return status, body


def received_headers(doc: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in doc["headers"]:
        out.setdefault(k.lower(), []).append(v)
    return out
