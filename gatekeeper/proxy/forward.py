"""The upstream client: streams request and response bodies through a keep-alive pool.

HTTP requests go through `h1.Pool` (httptools), chosen by benchmark (bench/proxy.py): it does a fraction of
the per-request work of aiohttp, which in turn was ~10x faster than a shared httpx client at 50
connections. WebSocket tunnels are proxy/tunnel.py. httpx stays for control-plane calls. Hop-by-hop headers are
removed in both directions (RFC 9110 §7.6.1); timeouts map to 504, connection failures to 502, no free
connection within `serve.proxy.upstream.pool_timeout` to 503.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol
from urllib.parse import urlsplit

from gatekeeper.config.serve import ProxyUpstream
from gatekeeper.errors import UpstreamBusy, UpstreamError, UpstreamTimeout
from gatekeeper.proxy.h1 import Pool, PoolExhausted, UpstreamClosed, UpstreamProtocolError

log = logging.getLogger("gatekeeper.proxy")

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"transfer-encoding", b"upgrade"})
_NO_BODY_STATUS = frozenset({204, 304})


class Sink(Protocol):
    """Where the upstream's answer goes: the client's response (the data-plane `Responder` fits)."""

    def start(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> None: ...

    async def write(self, chunk: bytes) -> None: ...

    def end(self) -> None: ...


def hop_by_hop(headers: Sequence[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The hop-by-hop names, including those a `Connection` header lists (`headers`: names lower-case)."""
    named = {t.strip().lower() for k, v in headers if k == b"connection" for t in v.split(b",")}
    return HOP_BY_HOP | named if named else HOP_BY_HOP


class Forwarder:
    """The proxy's upstream connections: an h1 keep-alive pool per upstream (WebSockets: proxy/tunnel.py)."""

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

    async def start(self) -> None:
        """Connections open on demand: nothing to start."""

    async def stop(self) -> None:
        self.pool.close()

    def _origin(self, origin: str) -> tuple[str, int, bool]:
        key = self._origins.get(origin)
        if key is None:
            parts = urlsplit(origin)
            tls = parts.scheme == "https"
            key = self._origins[origin] = (parts.hostname or "", parts.port or (443 if tls else 80), tls)
        return key

    async def forward(self, method: str, origin: str, target: str, headers: list[tuple[bytes, bytes]],
                      stream: AsyncIterator[bytes] | None, sink: Sink, *, body: bytes | None) -> int:
        """Send the request upstream and stream the answer into `sink`; returns the status. The request body is
        `body` when it was read already (a remote authorizer needed it), else `stream` (None: no body)."""
        payload: bytes | AsyncIterator[bytes] | None = None
        chunked = False
        if body is not None:
            headers = [(k, v) for k, v in headers if k != b"content-length"]
            if body or method in ("POST", "PUT", "PATCH"):
                headers.append((b"content-length", b"%d" % len(body)))
            payload = body
        elif stream is not None:
            payload = stream
            if not any(k == b"content-length" for k, _ in headers):
                headers.append((b"transfer-encoding", b"chunked"))
                chunked = True
        lines = [method.encode("ascii") + b" " + target.encode("latin-1") + b" HTTP/1.1\r\n"]
        lines.extend(k + b": " + v + b"\r\n" for k, v in headers)
        lines.append(b"\r\n")
        head = b"".join(lines)
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
            raw = [(k.lower(), v) for k, v in response.headers]
            drop = hop_by_hop(raw)
            out = [(k, v) for k, v in raw if k not in drop]
            sink.start(response.status, out)
            if method == "HEAD" or response.status in _NO_BODY_STATUS:
                sink.end()
                return response.status
            try:
                async for chunk in response.body():
                    await sink.write(chunk)
            except (TimeoutError, UpstreamClosed, OSError, UpstreamProtocolError) as exc:
                log.warning("upstream %s broke off mid-response: %s", origin, str(exc) or type(exc).__name__,
                            extra={"upstream": origin, "error": type(exc).__name__})
                raise
            sink.end()
            return response.status
        finally:
            response.release()


def _limit(duration: float) -> float | None:
    """A configured duration as a timeout: `0` is no limit."""
    return float(duration) or None
