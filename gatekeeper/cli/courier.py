"""`gatekeeper courier watch`: only the delivery worker, for a dedicated deployment (Kratos' `courier watch`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

import uvicorn

from gatekeeper.cli.runtime import NotMigrated, add_config_option, ensure_migrated, otel_factory, run_async
from gatekeeper.config import Config, load_config
from gatekeeper.errors import StoreUnavailable
from gatekeeper.observe import Metrics, Readiness, configure_logging
from gatekeeper.server.container import store_ready
from gatekeeper.server.identity_wiring import build_courier
from gatekeeper.server.listeners import metrics_listener
from gatekeeper.server.run import QuietServer, bind
from gatekeeper.server.tracing import build_tracer, observe_queries
from gatekeeper.store import Store, new_store

log = logging.getLogger("gatekeeper.courier")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `courier` command group."""
    courier = commands.add_parser("courier", help="e-mail delivery")
    actions = courier.add_subparsers(metavar="ACTION", required=True)
    watch = actions.add_parser("watch", help="deliver queued e-mails until stopped (SIGTERM/SIGINT)")
    add_config_option(watch)
    watch.add_argument("--dev", action="store_true", help="development mode: log e-mails when no SMTP is set")
    watch.add_argument("--expose-metrics-port", type=int, metavar="PORT",
                       help="serve /metrics, /health/alive and /health/ready on this port (all interfaces; 0: any)")
    watch.set_defaults(run=_watch)


def _watch(args: argparse.Namespace) -> int:
    config = load_config(args.config, dev=args.dev, secrets_needed=False)
    configure_logging(config.log)
    return run_async(watch(config, metrics_port=args.expose_metrics_port))


async def watch(config: Config, *, metrics_port: int | None = None) -> int:
    """Deliver until SIGTERM/SIGINT; returns the exit code (1 when the database needs migrations)."""
    metrics = Metrics()
    store = new_store(config.store_dsn)
    tracer = build_tracer(config, otel_factory(config))
    observe_queries(store, metrics, tracer)
    connected = asyncio.Event()
    courier = build_courier(config, store, metrics, connected, tracer)
    readiness = Readiness(metrics.ready)
    readiness.checks["database"] = lambda: store_ready(store, connected)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    server = None
    try:
        if metrics_port is not None:
            try:
                server = _metrics_server(metrics, readiness, metrics_port)
            except OSError as exc:
                print(f"cannot listen on port {metrics_port}: {exc.strerror}", file=sys.stderr)
                return 1
        if not await _connect(store, stopping):
            return 0
        try:
            await ensure_migrated(store)
        except NotMigrated as exc:
            print(exc, file=sys.stderr)
            return 1
        connected.set()
        await courier.worker.start()
        await stopping.wait()
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if server is not None:
            server.should_exit = True
            await server.task
        await courier.worker.stop()
        await store.close()
        await tracer.stop()


class _MetricsServer(QuietServer):
    """The metrics listener, served beside the worker."""

    task: asyncio.Task[None]


def _metrics_server(metrics: Metrics, readiness: Readiness, port: int) -> _MetricsServer:
    config = uvicorn.Config(metrics_listener(metrics, readiness), loop="none", lifespan="off", log_config=None,
                            access_log=False, server_header=False)
    server = _MetricsServer(config)
    sock = bind("0.0.0.0", port)  # noqa: S104 - probes reach it from outside the pod
    server.task = asyncio.create_task(server.serve(sockets=[sock]))
    log.info("courier metrics and health listening", extra={"port": sock.getsockname()[1]})
    return server


async def _connect(store: Store, stopping: asyncio.Event) -> bool:
    """Connect, retrying with backoff (the database may start after us); False when stopped first."""
    delay = 0.5
    while not stopping.is_set():
        try:
            await store.connect()
            return True
        except StoreUnavailable as exc:
            log.warning("database unreachable, retrying", extra={"reason": exc.reason, "retry_in_s": delay})
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, 10.0)
    return False
