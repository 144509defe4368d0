"""A TCP proxy the tests control, between gatekeeper and PostgreSQL: cut it to play an outage, restore it after.

It runs its own event loop in a thread, so sync tests (driving `gatekeeper serve` subprocesses) and async
tests can both use it. `cut()` resets every open connection and refuses new ones (accepted, then closed at
once: what a restarting or unreachable database looks like to a client); `blackhole()` keeps every connection
open but forwards nothing (a network partition: the client only notices by timing out); `restore()` ends either.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections = 0  # accepted while not cut
        self._cut = False
        self.blackholed = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="tcpproxy")
        self._server: asyncio.base_events.Server | None = None

    def _call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(10)

    def start(self) -> int:
        self._thread.start()
        self._server = self._call(self._listen())
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _listen(self) -> asyncio.base_events.Server:
        return await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            _reset(writer)
            return
        while self.blackholed:  # the connection hangs, unanswered
            await asyncio.sleep(0.05)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                _reset(w)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if not self.blackholed:  # blackholed: swallowed
                    writer.write(data)
                    await writer.drain()
        _reset(writer)

    def blackhole(self) -> None:
        """Keep connections open but forward nothing (new ones hang too) until `restore()`."""
        async def blackhole() -> None:
            self.blackholed = True
        self._call(blackhole())

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until `restore()`."""
        async def cut() -> None:
            self._cut = True
            for writer in list(self._writers):
                _reset(writer)
            self._writers.clear()
        self._call(cut())

    def restore(self) -> None:
        async def restore() -> None:
            self._cut = self.blackholed = False
        self._call(restore())

    def close(self) -> None:
        async def close() -> None:
            self._cut = True
            for writer in list(self._writers):
                _reset(writer)
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
        self._call(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)




def _reset(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.transport.abort()


@contextlib.contextmanager
def tcp_proxy(target_host: str, target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_host, target_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
