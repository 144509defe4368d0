"""`serve.*`, `log.*` and `secrets.*`: listeners, logging and the process' own secrets."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gatekeeper.config.cors import CorsConfig, oathkeeper_cors
from gatekeeper.config.types import Duration, Secret


@dataclass(frozen=True)
class ProxyTimeouts:
    """Oathkeeper's `serve.proxy.timeout` and `serve.api.timeout`: the client side of the listener. `read`: to
    receive a request head, and the longest silence while a body arrives; `write`: how long a client may leave
    the response unread; `idle`: keep-alive time between requests. `0`: no limit."""

    read: Duration = Duration(5.0)
    write: Duration = Duration(120.0)
    idle: Duration = Duration(120.0)


# headers some frameworks read as the request's "real" URL or method: a rule decided on one path or method
# must not reach the app as another, so they never pass (nor do they reach the rules)
OVERRIDE_HEADERS = ("X-Original-URL", "X-Rewrite-URL", "X-Original-Method", "X-HTTP-Method-Override",
                    "X-HTTP-Method", "X-Method-Override")


@dataclass(frozen=True)
class RequestLimits:
    """`serve.limits` (gatekeeper): what the data-plane listeners (proxy, public, api) accept in a request head;
    beyond it the client gets 414 (request line) or 431 (headers) and the connection is closed."""

    max_request_line: int = 8 * 1024
    max_header_count: int = 100
    max_header_bytes: int = 64 * 1024


@dataclass(frozen=True)
class UpstreamTls:
    """`serve.proxy.upstream.tls`: how `https://` and `wss://` upstreams are verified, and the client certificate
    presented to those that ask for one (mTLS). Empty `ca_file`: the system's CAs."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    def context(self) -> ssl.SSLContext:
        """A client context verifying certificates and host names; raises OSError/ssl.SSLError on a bad file."""
        context = ssl.create_default_context(cafile=self.ca_file or None)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


@dataclass(frozen=True)
class ProxyUpstream:
    """`serve.proxy.upstream` (gatekeeper): the proxy's connections to the upstreams the rules name. Durations,
    `max_connections` and `websocket_max_message_size` of `0` mean no limit."""

    connect_timeout: Duration = Duration(5.0)
    response_timeout: Duration = Duration(120.0)
    write_timeout: Duration = Duration(60.0)
    idle_timeout: Duration = Duration(90.0)
    max_connections: int = 256
    pool_timeout: Duration = Duration(5.0)
    websocket_max_message_size: int = 1024 * 1024
    tls: UpstreamTls = field(default_factory=UpstreamTls)


@dataclass(frozen=True)
class ProxyListener:
    """The app-facing proxy (`:4455`): forwards to upstreams and hosts the identity UI under a prefix."""

    host: str = "0.0.0.0"  # noqa: S104 - a sidecar listens on all interfaces by design
    port: int = 4455
    base_url: str = ""
    identity_prefix: str = "/.auth"
    trust_forwarded_headers: bool = False
    trusted_proxies: tuple[str, ...] = ()
    timeout: ProxyTimeouts = field(default_factory=ProxyTimeouts)
    upstream: ProxyUpstream = field(default_factory=ProxyUpstream)
    injected_headers: tuple[str, ...] = ()
    strip_request_headers: tuple[str, ...] = OVERRIDE_HEADERS
    cors: CorsConfig = field(default_factory=oathkeeper_cors)


@dataclass(frozen=True)
class Listener:
    """A plain listener: where it binds and the URL clients use to reach it."""

    host: str = "0.0.0.0"  # noqa: S104
    port: int = 0
    base_url: str = ""
    cors: CorsConfig = field(default_factory=CorsConfig)
    request_log: Mapping[str, Any] = field(default_factory=dict)


def _listener(port: int, host: str = "0.0.0.0") -> Listener:  # noqa: S104
    return Listener(host=host, port=port)


@dataclass(frozen=True)
class ApiListener(Listener):
    """The access API (`:4456`). `decisions_allowed_callers`: CIDRs that may ask `/decisions` (empty: whoever
    reaches the port; the decisions API trusts X-Forwarded-*, so keep it for the fronting proxy only)."""

    decisions_allowed_callers: tuple[str, ...] = ()
    timeout: ProxyTimeouts = field(default_factory=ProxyTimeouts)
    cors: CorsConfig = field(default_factory=oathkeeper_cors)


@dataclass(frozen=True)
class Prometheus:
    """Oathkeeper's `serve.prometheus`: where `/metrics` listens; set, it moves the `serve.metrics` listener."""

    host: str | None = None
    port: int | None = None
    metrics_path: str = "/metrics"


@dataclass(frozen=True)
class Serve:
    """`serve`: the listeners, their shared limits and timeouts, and `workers` (gatekeeper): how many processes
    serve them (`auto`: one per CPU this process may use)."""

    proxy: ProxyListener = field(default_factory=ProxyListener)
    public: Listener = field(default_factory=lambda: _listener(4433))
    admin: Listener = field(default_factory=lambda: _listener(4434))
    api: ApiListener = field(default_factory=lambda: ApiListener(port=4456))
    metrics: Listener = field(default_factory=lambda: _listener(9000))
    prometheus: Prometheus | None = None
    shutdown_timeout: Duration = Duration(10.0)
    keep_alive_timeout: Duration = Duration(75.0)
    limits: RequestLimits = field(default_factory=RequestLimits)
    workers: int | Literal["auto"] = 1


@dataclass(frozen=True)
class Log:
    level: str = "info"
    format: str = "json"
    leak_sensitive_values: bool = False


@dataclass(frozen=True)
class Secrets:
    """Kratos' `secrets`: the first entry signs/encrypts, later ones are still accepted (rotation)."""

    default: tuple[Secret, ...] = ()
    cookie: tuple[Secret, ...] = ()
    cipher: tuple[Secret, ...] = ()
    pagination: tuple[Secret, ...] = ()


def check_upstream(upstream: ProxyUpstream, add: Callable[[str, str], None]) -> None:
    """Report the problems of `serve.proxy.upstream` through `add(path, message)` (None: already reported)."""
    at = "serve.proxy.upstream"
    for key in ("connect_timeout", "response_timeout", "write_timeout", "idle_timeout", "max_connections",
                "pool_timeout", "websocket_max_message_size"):
        value = getattr(upstream, key)
        if value is not None and value < 0:
            add(f"{at}.{key}", "must not be negative")
    tls = upstream.tls
    if bool(tls.cert_file) != bool(tls.key_file):
        add(f"{at}.tls.cert_file", "cert_file and key_file go together")
    if tls.ca_file:
        try:
            ssl.create_default_context(cafile=tls.ca_file)
        except (OSError, ssl.SSLError) as exc:
            add(f"{at}.tls.ca_file", f"cannot load {tls.ca_file}: {exc.strerror or exc}")
    if tls.cert_file and tls.key_file:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(tls.cert_file, tls.key_file)
        except (OSError, ssl.SSLError) as exc:
            add(f"{at}.tls.cert_file", f"cannot load {tls.cert_file} with {tls.key_file}: {exc.strerror or exc}")
