"""The upstream client: streams request and response bodies through a keep-alive pool.

aiohttp's client, chosen by benchmark (bench/proxy.py): a shared httpx client was ~10x slower as a
proxy client at 50 connections. httpx stays for control-plane calls. Hop-by-hop headers are removed
in both directions (RFC 9110 §7.6.1); timeouts map to 504, connection failures to 502.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

import aiohttp
from starlette.types import Receive, Send

from gatekeeper.config.serve import ProxyTimeouts
from gatekeeper.errors import UpstreamError, UpstreamTimeout

log = logging.getLogger("gatekeeper.proxy")

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"transfer-encoding", b"upgrade"})


def hop_by_hop(headers: Sequence[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The hop-by-hop names, including those a `Connection` header lists."""
    named = {t.strip().lower() for k, v in headers if k.lower() == b"connection" for t in v.split(b",")}
    return HOP_BY_HOP | named if named else HOP_BY_HOP


class Forwarder:
    """One aiohttp session per process (created in the serving loop on first use)."""

    def __init__(self, timeouts: ProxyTimeouts) -> None:
        self.timeouts = timeouts
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=float(self.timeouts.idle) or 60.0,
                                             ttl_dns_cache=60, enable_cleanup_closed=False)
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=float(self.timeouts.read) or None,
                                              sock_read=float(self.timeouts.write) or None))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def forward(self, method: str, url: str, headers: list[tuple[str, str]], receive: Receive, send: Send,
                      *, has_body: bool, body: bytes | None) -> int:
        """Send the request upstream and stream the answer to the client; returns the status."""
        data: bytes | AsyncIterator[bytes] | None = body if body is not None else (
            _stream(receive) if has_body else None)
        try:
            response = await self.session().request(method, url, headers=headers, data=data,
                                                    allow_redirects=False, compress=None)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise UpstreamTimeout(reason="the upstream did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(reason=f"the upstream could not be reached ({type(exc).__name__})") from None
        async with response:
            raw = response.raw_headers
            drop = hop_by_hop(raw)
            out = [(k.lower(), v) for k, v in raw if k.lower() not in drop]
            no_body = method == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            if no_body:
                await send({"type": "http.response.body", "body": b""})
                return response.status
            try:
                async for chunk in response.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.warning("upstream broke off mid-response", extra={"error": type(exc).__name__})
                raise
            await send({"type": "http.response.body", "body": b""})
            return response.status


async def _stream(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
