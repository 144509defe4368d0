"""The application container and the listeners built from it.

`App` is the only mutable shared state: config, store, metrics, the control-plane HTTP client and
the services the two halves register. `App.create` builds it; `serve` runs every listener on one
event loop and drains on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from gatekeeper.asgi import adopt_route
from gatekeeper.config import Config
from gatekeeper.errors import GatekeeperError, StoreUnavailable
from gatekeeper.http.errors import EXCEPTION_HANDLERS
from gatekeeper.http.health import ReadinessCheck, health_routes
from gatekeeper.http.observer import RequestObserver
from gatekeeper.observe import Metrics
from gatekeeper.store import Store, migrate, new_store

log = logging.getLogger("gatekeeper")

LISTENERS = ("proxy", "public", "admin", "api", "metrics")


class Service(Protocol):
    """A background component with a lifecycle (rule watcher, courier worker, cache invalidation...)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class SessionSource(Protocol):
    """How the access half asks the identity half about a session (DESIGN.md §3)."""

    async def session_for_token(self, token: str) -> Mapping[str, Any] | None:
        """Kratos session JSON for an active session token (cookie value or session token), else None.

        Raises StoreUnavailable when it cannot tell: callers deny.
        """


@dataclass
class App:
    """Everything a request handler may need, built once per process."""

    config: Config
    store: Store
    metrics: Metrics = field(default_factory=Metrics)
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=5.0))
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    session_source: SessionSource | None = None
    routes: dict[str, list[BaseRoute]] = field(default_factory=lambda: {name: [] for name in LISTENERS})
    proxy_factory: Callable[[App, ASGIApp], ASGIApp] | None = None
    store_connected: asyncio.Event = field(default_factory=asyncio.Event)
    extensions: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def create(cls, config: Config) -> App:
        """Build the container and let each half register its routes, services and checks."""
        from gatekeeper import access, identity

        app = cls(config=config, store=new_store(config.store_dsn))
        app.store.db.on_query = app.metrics.observe_query
        app.readiness_checks["database"] = app._store_ready
        await identity.setup(app)
        await access.setup(app)
        return app

    async def _store_ready(self) -> str | None:
        if not self.store_connected.is_set():
            return "the database has not been reached yet"
        try:
            await self.store.ping()
        except GatekeeperError:
            return "the database does not answer"
        if await self.store.pending_migrations():
            return "the database has pending migrations"
        return None

    async def connect_store(self, *, apply_migrations: bool, retry: bool = True) -> None:
        """Connect and check (or apply) migrations, retrying with backoff while the database is unavailable."""
        delay = 0.5
        while True:
            try:
                await self.store.connect()
                await self._migrations(apply_migrations)
                break
            except StoreUnavailable as exc:
                await self.store.close()
                if not retry:
                    raise
                log.warning("database unreachable, retrying", extra={
                    "dsn": self.config.store_dsn.masked(), "reason": exc.reason, "retry_in_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.store_connected.set()

    async def _migrations(self, apply: bool) -> None:
        if apply:
            for m in await self.store.migrate():
                log.info("applied migration", extra={"migration": f"{m.version:04d}_{m.name}"})
        elif pending := await self.store.pending_migrations():
            names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
            raise PendingMigrations(f"the database has pending migrations ({names}): run "
                                    "`gatekeeper migrate up` or start with --migrate")

    async def start_services(self) -> None:
        for service in self.services:
            await service.start()

    async def close(self) -> None:
        for service in reversed(self.services):
            with contextlib.suppress(Exception):
                await service.stop()
        await self.http.aclose()
        await self.store.close()


class PendingMigrations(RuntimeError):
    pass


def build_listener(app: App, name: str) -> ASGIApp:
    """The Starlette app for one listener: its routes, health checks, error envelope, observation."""
    routes: list[BaseRoute] = [*health_routes(app), *app.routes[name]]
    if name == "metrics":
        routes.append(Route("/metrics", _metrics_endpoint(app), methods=["GET"]))
    inner: ASGIApp = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
    if name == "proxy":
        identity = Starlette(routes=app.routes["public"], exception_handlers=EXCEPTION_HANDLERS)
        inner = (app.proxy_factory or _no_proxy)(app, identity)
        inner = _with_health(app, inner)
    return RequestObserver(inner, listener=name, metrics=app.metrics)


def _metrics_endpoint(app: App) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(app.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics


def _with_health(app: App, proxy: ASGIApp) -> ASGIApp:
    health = Starlette(routes=health_routes(app), exception_handlers=EXCEPTION_HANDLERS)

    async def route(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in ("/health/alive", "/health/ready"):
            await health(scope, receive, send)
        else:
            await proxy(scope, receive, send)

    return route


def _no_proxy(app: App, identity: ASGIApp) -> ASGIApp:
    """Until access rules are configured the proxy serves only the identity prefix."""
    prefix = app.config.serve.proxy.identity_prefix
    not_found = Starlette(exception_handlers=EXCEPTION_HANDLERS)

    async def proxy(scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if path == prefix or path.startswith(prefix + "/"):
            child = {**scope, "root_path": scope.get("root_path", "") + prefix, "path": path[len(prefix):] or "/"}
            try:
                await identity(child, receive, send)
            finally:
                adopt_route(scope, child, prefix)
        else:
            await not_found(scope, receive, send)

    return proxy


class _Server(uvicorn.Server):
    """uvicorn server that leaves signal handling to `serve` (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, reuse_port=False, backlog=2048)
    sock.set_inheritable(True)
    return sock


async def serve(app: App, *, apply_migrations: bool, sockets: Mapping[str, socket.socket] | None = None,
                on_ready: Callable[[dict[str, str]], None] | None = None,
                stop: asyncio.Event | None = None) -> int:
    """Run every listener until SIGTERM/SIGINT (or `stop` is set); drain in-flight requests.

    Returns the process exit code: 0 after a clean stop, 1 when a listener or the store could not be used.
    """
    cfg = app.config.serve
    socks = dict(sockets or {})
    for name in LISTENERS:
        if name not in socks:
            listener = getattr(cfg, name)
            try:
                socks[name] = bind(listener.host, listener.port)
            except OSError as exc:
                log.error("cannot start", extra={"reason": f"cannot listen on {listener.host}:{listener.port} "
                                                           f"(serve.{name}): {exc.strerror or exc}"})
                for sock in socks.values():
                    if sockets is None or sock not in sockets.values():
                        sock.close()
                await app.close()
                return 1
    servers = []
    for name in LISTENERS:
        config = uvicorn.Config(
            build_listener(app, name), loop="none", http="httptools", ws="auto", lifespan="off",
            log_config=None, access_log=False, proxy_headers=False, server_header=False, date_header=False,
            timeout_graceful_shutdown=float(cfg.shutdown_timeout), timeout_keep_alive=float(cfg.keep_alive_timeout),
        )
        servers.append(_Server(config))
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    handle_signals = sockets is None  # embedded (tests): the caller owns signals and sockets
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(s.serve(sockets=[socks[n]])) for s, n in zip(servers, LISTENERS, strict=True)]
    urls = {n: _url(socks[n]) for n in LISTENERS}
    exit_code = 0
    try:
        await app.start_services()
        connect = asyncio.create_task(app.connect_store(apply_migrations=apply_migrations))
        if on_ready:
            on_ready(urls)
        log.info("gatekeeper listening", extra={"listeners": urls})
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({connect, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if connect in done and connect.exception() is not None:
            exc = connect.exception()
            log.error("cannot start", extra={"reason": str(exc)})
            exit_code = 1
        else:
            await stop.wait()
            log.info("shutting down: draining in-flight requests",
                     extra={"timeout_s": float(cfg.shutdown_timeout)})
        connect.cancel()
        waiter.cancel()
        await asyncio.gather(connect, waiter, return_exceptions=True)  # settled before the store closes
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        await app.close()
    return exit_code


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):  # noqa: S104
        host = "127.0.0.1"
    return f"http://{host}:{port}"


__all__ = ["App", "PendingMigrations", "Service", "SessionSource", "build_listener", "migrate", "serve"]
