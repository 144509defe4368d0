"""The upstream client: streams request and response bodies through a keep-alive pool.

HTTP requests go through `h1.Pool` (httptools), chosen by benchmark (bench/proxy.py): it does a fraction of
the per-request work of aiohttp, which in turn was ~10x faster than a shared httpx client at 50
connections. WebSocket tunnels use aiohttp. httpx stays for control-plane calls. Hop-by-hop headers are
removed in both directions (RFC 9110 §7.6.1); timeouts map to 504, connection failures to 502, no free
connection within `serve.proxy.upstream.pool_timeout` to 503.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit

import aiohttp
from starlette.types import Receive, Send

from gatekeeper.config.serve import ProxyUpstream
from gatekeeper.errors import UpstreamBusy, UpstreamError, UpstreamTimeout
from gatekeeper.proxy.h1 import Pool, PoolExhausted, UpstreamClosed, UpstreamProtocolError

log = logging.getLogger("gatekeeper.proxy")

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"transfer-encoding", b"upgrade"})
_NO_BODY_STATUS = frozenset({204, 304})


def hop_by_hop(headers: Sequence[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The hop-by-hop names (lower-case), including those a `Connection` header lists."""
    named = {t.strip().lower() for k, v in headers if k.lower() == b"connection" for t in v.split(b",")}
    return HOP_BY_HOP | named if named else HOP_BY_HOP


class Forwarder:
    """The proxy's upstream connections: an h1 pool for HTTP, an aiohttp session for WebSockets."""

    def __init__(self, upstream: ProxyUpstream) -> None:
        """`upstream`: `serve.proxy.upstream` (timeouts, connection cap, TLS trust)."""
        self.settings = upstream
        self.tls = upstream.tls.context()
        self.pool = Pool(connect_timeout=_limit(upstream.connect_timeout),
                         response_timeout=_limit(upstream.response_timeout),
                         write_timeout=_limit(upstream.write_timeout), idle_timeout=_limit(upstream.idle_timeout),
                         max_connections=upstream.max_connections, pool_timeout=_limit(upstream.pool_timeout),
                         ssl_context=self.tls)
        self._origins: dict[str, tuple[str, int, bool]] = {}
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The WebSocket client: as many connections per upstream as HTTP may have (counted apart), the same
        TLS settings, connect and pool timeouts (aiohttp's `connect` covers the wait for a slot and connecting);
        `response_timeout` bounds the wait for the upstream's handshake answer (aiohttp drops it after the upgrade)."""
        if self._session is None or self._session.closed:
            upstream = self.settings
            connect, wait = _limit(upstream.connect_timeout), _limit(upstream.pool_timeout)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=upstream.max_connections, ssl=self.tls),
                auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None, connect=connect + wait if connect and wait else None,
                                              sock_connect=connect, sock_read=_limit(upstream.response_timeout)))
        return self._session

    async def start(self) -> None:
        """Connections open on demand: nothing to start."""

    async def stop(self) -> None:
        self.pool.close()
        if self._session is not None:
            await self._session.close()

    def _origin(self, origin: str) -> tuple[str, int, bool]:
        key = self._origins.get(origin)
        if key is None:
            parts = urlsplit(origin)
            tls = parts.scheme == "https"
            key = self._origins[origin] = (parts.hostname or "", parts.port or (443 if tls else 80), tls)
        return key

    async def forward(self, method: str, origin: str, target: str, headers: list[tuple[bytes, bytes]],
                      receive: Receive, send: Send, *, has_body: bool, body: bytes | None) -> int:
        """Send the request upstream and stream the answer to the client; returns the status."""
        payload: bytes | AsyncIterator[bytes] | None = None
        chunked = False
        if body is not None:
            headers = [(k, v) for k, v in headers if k != b"content-length"]
            if body or method in ("POST", "PUT", "PATCH"):
                headers.append((b"content-length", b"%d" % len(body)))
            payload = body
        elif has_body:
            payload = _stream(receive)
            if not any(k == b"content-length" for k, _ in headers):
                headers.append((b"transfer-encoding", b"chunked"))
                chunked = True
        head = b"".join([method.encode("ascii"), b" ", target.encode("latin-1"), b" HTTP/1.1\r\n",
                         *(b"%s: %s\r\n" % (k, v) for k, v in headers), b"\r\n"])
        try:
            response = await self.pool.request(self._origin(origin), head, payload, chunked=chunked,
                                               is_head=method == "HEAD")
        except TimeoutError:
            raise UpstreamTimeout(reason="the upstream did not answer in time") from None
        except PoolExhausted as exc:
            log.warning("upstream %s: %s", origin, exc, extra={"upstream": origin})
            raise UpstreamBusy(reason="every connection to the upstream is in use") from None
        except UpstreamProtocolError as exc:
            log.warning("refused the response of upstream %s: %s", origin, exc, extra={"upstream": origin})
            raise UpstreamError(reason="the upstream's response could not be relayed") from None
        except (UpstreamClosed, OSError) as exc:
            log.warning("upstream %s could not be reached: %s", origin, str(exc) or type(exc).__name__,
                        extra={"upstream": origin})
            raise UpstreamError(reason=f"the upstream could not be reached ({type(exc).__name__})") from None
        try:
            raw = response.headers
            drop = hop_by_hop(raw)
            out = [(k.lower(), v) for k, v in raw if k.lower() not in drop]
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            if method == "HEAD" or response.status in _NO_BODY_STATUS:
                await send({"type": "http.response.body", "body": b""})
                return response.status
            try:
                async for chunk in response.body():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except (TimeoutError, UpstreamClosed, OSError, UpstreamProtocolError) as exc:
                log.warning("upstream %s broke off mid-response: %s", origin, str(exc) or type(exc).__name__,
                            extra={"upstream": origin, "error": type(exc).__name__})
                raise
            await send({"type": "http.response.body", "body": b""})
            return response.status
        finally:
            response.release()


def _limit(duration: float) -> float | None:
    """A configured duration as a timeout: `0` is no limit."""
    return float(duration) or None


async def _stream(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":  # never send a truncated body upstream as if complete
            raise ConnectionResetError("the client disconnected during the upload")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
