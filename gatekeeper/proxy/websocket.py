"""WebSocket pass-through: the rule pipeline has allowed the upgrade; tunnel frames both ways."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from starlette.types import Receive, Scope, Send

from gatekeeper.proxy.forward import Forwarder

log = logging.getLogger("gatekeeper.proxy")


async def tunnel_websocket(forwarder: Forwarder, scope: Scope, receive: Receive, send: Send, url: str,
                           raw_headers: list[tuple[bytes, bytes]], ended: asyncio.Event | None = None) -> None:
    """Tunnel frames both ways until either side closes, or `ended` is set (the session ended: close 1008)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    ws_url = "ws" + url[4:] if url.startswith("http") else url
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
    protocols = tuple(p.strip() for p in scope.get("subprotocols", ()))
    try:
        upstream = await forwarder.session().ws_connect(
            ws_url, headers=headers, protocols=protocols, autoclose=False, autoping=True,
            max_msg_size=_aiohttp_limit(forwarder.settings.websocket_max_message_size))
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.warning("websocket upstream unreachable", extra={"error": type(exc).__name__})
        await send({"type": "websocket.close", "code": 1011})
        return
    await send({"type": "websocket.accept", "subprotocol": upstream.protocol})

    async def client_to_upstream() -> None:
        while True:
            msg = await receive()
            if msg["type"] == "websocket.disconnect":
                await upstream.close(code=msg.get("code", 1000))
                return
            if msg.get("text") is not None:
                await upstream.send_str(msg["text"])
            elif msg.get("bytes") is not None:
                await upstream.send_bytes(msg["bytes"])

    async def upstream_to_client() -> None:
        async for msg in upstream:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await send({"type": "websocket.send", "text": msg.data})
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await send({"type": "websocket.send", "bytes": msg.data})
            else:
                break
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": upstream.close_code or 1000})

    async def session_ended() -> None:
        assert ended is not None
        await ended.wait()
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": 1008, "reason": "session ended"})

    tasks = [asyncio.create_task(client_to_upstream()), asyncio.create_task(upstream_to_client())]
    if ended is not None:
        tasks.append(asyncio.create_task(session_ended()))
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await upstream.close()


def _aiohttp_limit(largest: int) -> int:
    """aiohttp refuses a message of exactly `max_msg_size` bytes: one more lets the largest allowed one pass."""
    return largest + 1 if largest else 0
