"""The data-plane server against its ceiling: hello-world requests/s, side by side in one run on this machine.

    .venv/bin/python -m bench.dataplane_server [--seconds 5] [--rounds 2]

Rows (wrk -t1 -c50 pinned to CPU 0, every server pinned to CPU 1, every Python one on uvloop):
- nginx `return 200`;
- a raw `asyncio.Protocol` + httptools hello: the ceiling (ratio 1.0), nothing a real server can skip;
- gatekeeper.dataplane with a trivial handler (`responder.respond(...)`);
- gatekeeper.dataplane running a trivial ASGI app through `AsgiBridge`;
- uvicorn (httptools) running the same ASGI app;
- Granian's RSGI interface hello (`pip install granian`, the `bench` extra), if installed.

`--serve rawproxy --port N --upstream M` runs the second ceiling, used by `bench.proxy` for P1: the least a
Python proxy does per request (parse, send on a kept-alive upstream connection, parse the answer, relay it).

Each row is the best of `--rounds` runs of `--seconds` (the rows take turns, so a noisy neighbour hurts them
alike), with the CPU time the server's processes used per request (the least of the rounds), which a shared
machine disturbs less than requests/s. `--serve KIND --port N` runs one of the Python servers (used by the
benchmark itself).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import socket
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from bench.common import NGINX, WRK, WrkResult, free_port, nginx, process, wrk

BODY = b"hello"
TEXT = [(b"content-type", b"text/plain")]
RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"
CEILING = "raw asyncio.Protocol + httptools (ceiling)"


async def asgi_app(scope: MutableMapping[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """The trivial ASGI app (HTTP only: uvicorn runs with --lifespan off)."""
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": BODY})


async def rsgi_app(scope: Any, proto: Any) -> None:
    """Granian's RSGI hello."""
    proto.response_bytes(200, [("content-type", "text/plain")], BODY)


class RawHello(asyncio.Protocol):
    """The ceiling: parse with httptools, answer a constant when a request is complete."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        import httptools

        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        self.transport.write(RESPONSE)  # type: ignore[attr-defined]


class _UpstreamSide(asyncio.Protocol):
    """The raw proxy's connection to the upstream: parses each answer and relays status and body."""

    def __init__(self, client: asyncio.Transport) -> None:
        import httptools

        self.client = client
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self.body)
        self.body = []
        self.client.write(b"HTTP/1.1 %d OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n%s"
                          % (self.parser.get_status_code(), len(body), body))


class RawProxy(asyncio.Protocol):
    """P1's ceiling: forwards each request's line (no headers, no rules) on one kept-alive upstream connection
    per client connection, and relays the answer."""

    upstream_port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        import httptools

        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.upstream: asyncio.BaseTransport | None = None
        self.waiting: list[bytes] = []
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.upstream, _ = await loop.create_connection(lambda: _UpstreamSide(self.transport),  # type: ignore[arg-type]
                                                        "127.0.0.1", self.upstream_port)
        for request in self.waiting:
            self.upstream.write(request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_message_complete(self) -> None:
        request = b"GET %s HTTP/1.1\r\nhost: upstream\r\n\r\n" % self.url
        self.url = b""
        if self.upstream is None:
            self.waiting.append(request)
        else:
            self.upstream.write(request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None:
            self.upstream.close()


async def serve(kind: str, port: int) -> None:
    from gatekeeper.dataplane import Request, Responder, Server
    from gatekeeper.dataplane.asgi import AsgiBridge

    async def hello(request: Request, responder: Responder) -> None:
        responder.respond(200, TEXT, BODY)

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    if kind == "raw":
        await asyncio.get_running_loop().create_server(RawHello, sock=sock, backlog=1024)
    elif kind == "rawproxy":
        await asyncio.get_running_loop().create_server(RawProxy, sock=sock, backlog=1024)
    else:
        await Server(hello if kind == "dataplane" else AsgiBridge(asgi_app)).start(sock)
    await asyncio.Event().wait()


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the processes of group `pgid` (every server here runs in a session of its own)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def main(seconds: int, rounds: int, server_cpu: int | None = 1) -> dict[str, float]:
    if NGINX is None or WRK is None:
        raise SystemExit("nginx and wrk are needed (make system-deps)")
    python = [sys.executable, "-m", "bench.dataplane_server", "--serve"]
    ports = {name: free_port() for name in ("nginx", "raw", "dataplane", "bridge", "uvicorn", "granian")}
    commands = {
        CEILING: [*python, "raw", "--port", str(ports["raw"])],
        "gatekeeper.dataplane, trivial handler": [*python, "dataplane", "--port", str(ports["dataplane"])],
        "gatekeeper.dataplane + AsgiBridge, ASGI app": [*python, "bridge", "--port", str(ports["bridge"])],
        "uvicorn (httptools), same ASGI app": [
            sys.executable, "-m", "uvicorn", "bench.dataplane_server:asgi_app", "--port", str(ports["uvicorn"]),
            "--loop", "uvloop", "--http", "httptools", "--lifespan", "off", "--no-access-log", "--log-level", "error"],
    }
    if importlib.util.find_spec("granian") is not None:
        commands["granian RSGI hello"] = [
            sys.executable, "-m", "granian", "--interface", "rsgi", "--loop", "uvloop", "--workers", "1",
            "--runtime-threads", "1", "--host", "127.0.0.1", "--port", str(ports["granian"]), "--no-access-log",
            "--log-level", "error", "bench.dataplane_server:rsgi_app"]
    conf = f'server {{ listen 127.0.0.1:{ports["nginx"]}; location / {{ return 200 "hello"; }} }}'
    best: dict[str, WrkResult] = {}
    cpu: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        work = stack.enter_context(nginx(conf, ports=[ports["nginx"]], cpu=server_cpu))
        servers = {"nginx return 200": (f"http://127.0.0.1:{ports['nginx']}/",
                                        int((work / "nginx.pid").read_text()))}
        for name, cmd in commands.items():
            port = int(cmd[cmd.index("--port") + 1])
            proc = stack.enter_context(process(cmd, ports=[port], cpu=server_cpu))
            servers[name] = (f"http://127.0.0.1:{port}/", proc.pid)
        for url, _ in servers.values():
            wrk(url, seconds=1)  # warm up
        for _ in range(rounds):
            for name, (url, pgid) in servers.items():
                before = group_cpu(pgid)
                result = wrk(url, seconds=seconds)
                used = (group_cpu(pgid) - before) / (result.rps * seconds) * 1e6
                if name not in best or result.rps > best[name].rps:
                    best[name] = result
                cpu[name] = min(cpu.get(name, used), used)
    print(f"\nhello world: best of {rounds} x {seconds}s, wrk -t1 -c50 on CPU 0, each server pinned to CPU 1")
    print(f"{'':46} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'cpu us/req':>11} {'cpu ratio':>9}")
    for name in servers:
        r = best[name]
        print(f"{name:46} {r.rps:8.0f} {r.p50_ms:7.3f} {r.p99_ms:7.3f} {r.rps / best[CEILING].rps:6.3f} "
              f"{cpu[name]:11.2f} {cpu[CEILING] / cpu[name]:9.3f}")
    print("ratio: requests/s against the ceiling's; cpu ratio: the ceiling's CPU time per request against the "
          "row's (steadier when the machine is shared)")
    return {name: best[name].rps / best[CEILING].rps for name in servers}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", choices=["raw", "rawproxy", "dataplane", "bridge"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    RawProxy.upstream_port = args.upstream or 0
    if args.serve:
        import uvloop

        uvloop.run(serve(args.serve, args.port))
    else:
        main(args.seconds, args.rounds)
