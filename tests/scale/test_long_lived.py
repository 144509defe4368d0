"""Long-lived proxied connections (WebSocket, SSE) end when their session does: revoked on any replica, or expired."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from tests.access.support import access_config, rule
from tests.identity.conftest import PASSWORD
from tests.identity.test_sessions import register
from tests.support.servers import Instance, running_gatekeeper, serving


async def _events(request: Request) -> StreamingResponse:
    async def forever() -> AsyncIterator[bytes]:
        i = 0
        while True:
            yield f"data: {i}\n\n".encode()
            i += 1
            await asyncio.sleep(0.05)

    return StreamingResponse(forever(), media_type="text/event-stream")


async def _ws(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        try:
            await websocket.send_text(await websocket.receive_text())
        except Exception:  # noqa: BLE001 - the client went away
            return


upstream_app = Starlette(routes=[Route("/events", _events), WebSocketRoute("/ws", _ws)])


def config(tmp_path: Path, upstream: str, extra: dict[str, Any] | None = None) -> Any:
    rules = [rule("live", "http://<[^/]+>/<(events|ws)>", upstream=upstream, authenticators=("cookie_session",))]
    overrides = {"session": {"cache_ttl": "60s", **(extra or {})}, "hashers": {"bcrypt": {"cost": 4}},
                 "selfservice": {"flows": {"registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}}}}
    return access_config(tmp_path, rules, overrides)


@asynccontextmanager
async def replicas(tmp_path: Path, count: int, extra: dict[str, Any] | None = None) -> AsyncIterator[list[Instance]]:
    """`count` gatekeepers on one SQLite file (several processes may share it), in front of the upstream."""
    async with AsyncExitStack() as stack:
        upstream = await stack.enter_async_context(serving(upstream_app))
        found = [await stack.enter_async_context(running_gatekeeper(config(tmp_path, upstream, extra)))
                 for _ in range(count)]
        for gk in found:
            while gk.container.access.repository.current is None:
                await asyncio.sleep(0.01)
        yield found


async def logout(gk: Instance, token: str) -> None:
    async with httpx.AsyncClient() as c:
        resp = await c.request("DELETE", f"{gk.public}/self-service/logout/api", json={"session_token": token})
        assert resp.status_code == 204


async def test_a_websocket_is_closed_when_its_session_is_revoked_on_another_replica(tmp_path: Path) -> None:
    async with replicas(tmp_path, 2) as (a, b):
        token = (await register(a.public))["session_token"]
        url = b.proxy.replace("http://", "ws://") + "/ws"
        async with websockets.connect(url, additional_headers={"Cookie": f"ory_kratos_session={token}"}) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await logout(a, token)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        with pytest.raises(websockets.InvalidStatus) as denied:  # and it cannot come back
            async with websockets.connect(url, additional_headers={"Cookie": f"ory_kratos_session={token}"}):
                pass
        assert denied.value.response.status_code == 401  # the rule refuses the handshake with its error


async def test_an_event_stream_ends_when_its_session_is_revoked(tmp_path: Path) -> None:
    async with replicas(tmp_path, 2) as (a, b), httpx.AsyncClient(timeout=10) as c:
        token = (await register(a.public))["session_token"]
        other = (await register(a.public, "other@example.com"))["session_token"]
        headers = {"Accept": "text/event-stream"}
        async with c.stream("GET", f"{b.proxy}/events", headers=headers,
                            cookies={"ory_kratos_session": token}) as mine, \
                c.stream("GET", f"{b.proxy}/events", headers=headers, cookies={"ory_kratos_session": other}) as theirs:
            assert mine.status_code == 200 and theirs.status_code == 200
            lines = mine.aiter_lines()
            assert (await anext(lines)).startswith("data: ")
            await logout(a, token)

            async def drain() -> None:
                async for _ in lines:
                    pass

            await asyncio.wait_for(drain(), 5)  # the stream ended (cleanly) on its own
            other_lines = theirs.aiter_lines()
            for _ in range(3):  # the other session's stream goes on
                await asyncio.wait_for(anext(other_lines), 5)


async def test_a_websocket_is_closed_when_its_session_expires(tmp_path: Path) -> None:
    async with replicas(tmp_path, 1, {"lifespan": "2s"}) as (a,):
        token = (await register(a.public))["session_token"]
        url = a.proxy.replace("http://", "ws://") + "/ws"
        async with websockets.connect(url, additional_headers={"Cookie": f"ory_kratos_session={token}"}) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_revoking_all_sessions_of_an_identity_reaches_every_replica(tmp_path: Path) -> None:
    """What deactivation, deletion and a password change with revoke_active_sessions call."""
    async with replicas(tmp_path, 2) as (a, b), httpx.AsyncClient() as c:
        done = await register(a.public)
        token, identity_id = done["session_token"], done["identity"]["id"]
        second = await c.post(f"{a.public}/self-service/login?flow=" + (await c.get(
            f"{a.public}/self-service/login/api")).json()["id"], json={
            "method": "password", "identifier": "ada@example.com", "password": PASSWORD})
        tokens = [token, second.json()["session_token"]]
        for t in tokens:  # cached on B (60 s TTL)
            assert (await c.get(f"{b.api}/decisions/events", headers={"Cookie": f"ory_kratos_session={t}"})
                    ).status_code == 200
        assert await a.container.identity.ctx.sessions.revoke_all(identity_id) == 2
        for t in tokens:
            for _ in range(100):
                resp = await c.get(f"{b.api}/decisions/events", headers={"Cookie": f"ory_kratos_session={t}"})
                if resp.status_code == 401:
                    break
                await asyncio.sleep(0.02)
            assert resp.status_code == 401


async def test_a_websocket_checked_by_a_remote_session_endpoint_ends_on_the_next_recheck(tmp_path: Path) -> None:
    """Remote mode (check_session_url, e.g. a separate Kratos): re-checks ask that endpoint again."""
    (tmp_path / "identity").mkdir()
    async with replicas(tmp_path / "identity", 1) as (kratos,), serving(upstream_app) as upstream:
        remote = [rule("live", "http://<[^/]+>/ws", upstream=upstream, authenticators=(
            ("cookie_session", {"check_session_url": f"{kratos.public}/sessions/whoami", "preserve_path": True}),))]
        (tmp_path / "edge").mkdir()
        async with running_gatekeeper(access_config(tmp_path / "edge", remote)) as edge:
            while edge.container.access.repository.current is None:
                await asyncio.sleep(0.01)
            token = (await register(kratos.public))["session_token"]
            url = edge.proxy.replace("http://", "ws://") + "/ws"
            async with websockets.connect(url, additional_headers={"Cookie": f"ory_kratos_session={token}"}) as ws:
                await ws.send("hello")
                assert await ws.recv() == "hello"
                await edge.container.access.live.recheck()
                await ws.send("still")
                assert await ws.recv() == "still"  # the session is fine: the connection stays
                await logout(kratos, token)
                await edge.container.access.live.recheck()  # what the periodic re-check does
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
