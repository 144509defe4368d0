"""Real servers on 127.0.0.1 ephemeral ports: ASGI apps under uvicorn, and whole gatekeeper instances."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from gatekeeper.cli.runtime import optional_parts
from gatekeeper.config import Config
from gatekeeper.server.container import Container, build
from gatekeeper.server.listeners import LISTENERS, build_listeners
from gatekeeper.server.run import bind, serve


def free_socket() -> socket.socket:
    """A listening socket on 127.0.0.1 with a port the kernel picked, as gatekeeper binds them (`run.bind`)."""
    return bind("127.0.0.1", 0)


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, **uvicorn_options: Any) -> AsyncIterator[str]:
    """Serve an ASGI app on 127.0.0.1:<free port> in this event loop; yields its base URL."""
    sock = free_socket()
    config = uvicorn.Config(app, lifespan="off", log_level="warning", loop="none", **uvicorn_options)
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Instance:
    """A running gatekeeper: the container and the base URL of each listener."""

    container: Container
    urls: dict[str, str]

    @property
    def proxy(self) -> str:
        return self.urls["proxy"]

    @property
    def public(self) -> str:
        return self.urls["public"]

    @property
    def admin(self) -> str:
        return self.urls["admin"]

    @property
    def api(self) -> str:
        return self.urls["api"]

    @property
    def metrics(self) -> str:
        return self.urls["metrics"]


@contextlib.asynccontextmanager
async def running_gatekeeper(config: Config, *, migrate: bool = True,
                             sockets: dict[str, socket.socket] | None = None) -> AsyncIterator[Instance]:
    """Start every listener of a gatekeeper built from `config` on free ports; stop it afterwards.

    Pass `sockets` (from `free_socket()`) when the config must name the listeners' URLs (base_url).
    """
    sockets = {name: (sockets or {}).get(name) or free_socket() for name in LISTENERS}
    container = await build(config, optional_parts(config))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(container, build_listeners(container), apply_migrations=migrate,
                                     sockets=sockets, stop=stop))
    await asyncio.wait_for(_wait_connected(container, task), timeout=15)
    try:
        yield Instance(container, {name: url_of(sock) for name, sock in sockets.items()})
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20)
        for sock in sockets.values():
            sock.close()


async def _wait_connected(container: Container, task: asyncio.Task[int]) -> None:
    while not container.store_connected.is_set():
        if task.done():
            raise RuntimeError(f"gatekeeper stopped during start-up (exit code {task.result()})")
        await asyncio.sleep(0.01)
