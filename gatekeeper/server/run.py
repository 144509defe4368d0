"""Running a built container: bind the listeners, connect the store (retrying, migrating when asked), start
the services, serve until SIGTERM/SIGINT, then drain."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
from collections.abc import Callable, Iterator, Mapping
from http import HTTPStatus
from typing import cast

import uvicorn

from gatekeeper.dataplane import Server
from gatekeeper.errors import StoreUnavailable, envelope
from gatekeeper.server.container import Container
from gatekeeper.server.listeners import LISTENERS, Listeners
from gatekeeper.store import Store

log = logging.getLogger("gatekeeper")


class PendingMigrations(RuntimeError):
    pass


async def connect_store(c: Container, *, apply_migrations: bool, retry: bool = True) -> None:
    """Connect and check (or apply) migrations, retrying with backoff while the database is unavailable."""
    delay = 0.5
    while True:
        try:
            await c.store.connect()
            await _migrations(c.store, apply_migrations or c.config.store_dsn.in_memory)
            break
        except StoreUnavailable as exc:
            await c.store.close()
            if not retry:
                raise
            log.warning("database unreachable, retrying", extra={
                "dsn": c.config.store_dsn.masked(), "reason": exc.reason, "retry_in_s": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    c.store_connected.set()


async def _migrations(store: Store, apply: bool) -> None:
    if apply:
        for m in await store.migrate():
            log.info("applied migration", extra={"migration": f"{m.version:04d}_{m.name}"})
    elif pending := await store.pending_migrations():
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise PendingMigrations(f"the database has pending migrations ({names}): run "
                                "`gatekeeper migrate up` or start with --migrate")


class QuietServer(uvicorn.Server):
    """uvicorn server that leaves signal handling to its caller (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None


def error_envelope(status: int, reason: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """What the data-plane server answers to a request it refuses itself (malformed, too large, too slow)."""
    body = json.dumps(envelope(status, HTTPStatus(status).phrase, reason=reason), separators=(",", ":")).encode()
    return [(b"content-type", b"application/json")], body


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening socket; `reuse_port`: one of several on the same port, the kernel spreads new connections.
    Its connections send without Nagle's delay (TCP_NODELAY, inherited from it): asyncio only sets that on
    sockets whose `proto` says TCP, and `create_server` leaves `proto` 0, so a response written in two parts
    would wait ~40 ms for the client's delayed ACK on every keep-alive request."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, reuse_port=reuse_port, backlog=2048)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.set_inheritable(True)
    return sock


async def serve(c: Container, listeners: Listeners, *, apply_migrations: bool,
                sockets: Mapping[str, socket.socket] | None = None,
                on_ready: Callable[[dict[str, str]], None] | None = None,
                stop: asyncio.Event | None = None) -> int:
    """Run every listener (`listeners.build_listeners`: the data-plane ones on gatekeeper's own server, the
    others on uvicorn) until SIGTERM/SIGINT (or `stop` is set); drain in-flight requests.

    Returns the process exit code: 0 after a clean stop, 1 when a listener or the store could not be used.
    """
    cfg = c.config.serve
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
                await c.close()
                return 1
    uvicorns = {name: QuietServer(uvicorn.Config(
        app, loop="none", http="httptools", ws="auto", lifespan="off", log_config=None, access_log=False,
        proxy_headers=False, server_header=False, date_header=False,
        # uvicorn annotates these as int; it hands them to asyncio as seconds, fractions included
        timeout_graceful_shutdown=cast(int, float(cfg.shutdown_timeout)),
        timeout_keep_alive=cast(int, float(cfg.keep_alive_timeout)),
    )) for name, app in listeners.asgi.items()}
    dataplane = {name: Server(handler, limits=listeners.limits[name], error_response=error_envelope)
                 for name, handler in listeners.dataplane.items()}
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    handle_signals = sockets is None  # embedded (tests): the caller owns signals and sockets
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(server.serve(sockets=[socks[name]])) for name, server in uvicorns.items()]
    for name, server in dataplane.items():
        await server.start(socks[name])
    urls = {n: url_of(socks[n]) for n in LISTENERS}
    exit_code = 0
    try:
        await c.start_services()
        connect = asyncio.create_task(connect_store(c, apply_migrations=apply_migrations))
        if on_ready:
            on_ready(urls)
        log.info("gatekeeper listening", extra={"listeners": urls})
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({connect, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if connect in done and connect.exception() is not None:
            log.error("cannot start", extra={"reason": str(connect.exception())})
            exit_code = 1
        else:
            await stop.wait()
            log.info("shutting down: draining in-flight requests",
                     extra={"timeout_s": float(cfg.shutdown_timeout)})
        connect.cancel()
        waiter.cancel()
        await asyncio.gather(connect, waiter, return_exceptions=True)  # settled before the store closes
    finally:
        for uvicorn_server in uvicorns.values():
            uvicorn_server.should_exit = True
        await asyncio.gather(*tasks, *(server.drain(float(cfg.shutdown_timeout)) for server in dataplane.values()),
                             return_exceptions=True)
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        await c.close()
    return exit_code


def url_of(sock: socket.socket) -> str:
    """The URL a listening socket answers on (127.0.0.1 for the wildcard address)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):  # noqa: S104
        host = "127.0.0.1"
    return f"http://{host}:{port}"
