"""`gatekeeper courier watch`: only the delivery worker, for a dedicated deployment (Kratos' `courier watch`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator

import uvicorn

from gatekeeper.app import App, bind, build_listener
from gatekeeper.config import Config, load_config
from gatekeeper.errors import StoreUnavailable
from gatekeeper.identity.courier import setup_courier
from gatekeeper.observe import configure_logging
from gatekeeper.store import Store, new_store

log = logging.getLogger("gatekeeper.courier")


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `courier` command group."""
    courier = commands.add_parser("courier", help="e-mail delivery")
    actions = courier.add_subparsers(metavar="ACTION", required=True)
    watch = actions.add_parser("watch", help="deliver queued e-mails until stopped (SIGTERM/SIGINT)")
    watch.add_argument("--config", "-c", default=os.environ.get("GATEKEEPER_CONFIG"), help="YAML config file")
    watch.add_argument("--dev", action="store_true", help="development mode: log e-mails when no SMTP is set")
    watch.add_argument("--expose-metrics-port", type=int, metavar="PORT",
                       help="serve /metrics, /health/alive and /health/ready on this port (all interfaces; 0: any)")
    watch.set_defaults(run=_watch)


def _watch(args: argparse.Namespace) -> int:
    from gatekeeper.cli import _run_async

    config = load_config(args.config, dev=args.dev, secrets_needed=False)
    configure_logging(config.log)
    return _run_async(watch(config, metrics_port=args.expose_metrics_port))


async def watch(config: Config, *, metrics_port: int | None = None) -> int:
    """Deliver until SIGTERM/SIGINT; returns the exit code (1 when the database needs migrations)."""
    app = App(config=config, store=new_store(config.store_dsn))
    app.store.db.on_query = app.metrics.observe_query
    app.readiness_checks["database"] = app._store_ready
    await setup_courier(app)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    server = None
    try:
        if metrics_port is not None:
            try:
                server = _metrics_server(app, metrics_port)
            except OSError as exc:
                print(f"cannot listen on port {metrics_port}: {exc.strerror}", file=sys.stderr)
                return 1
        if not await _connect(app.store, stopping):
            return 0
        if pending := await app.store.pending_migrations():
            names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
            print(f"the database has pending migrations ({names}): run `gatekeeper migrate up`", file=sys.stderr)
            return 1
        app.store_connected.set()
        await app.start_services()
        await stopping.wait()
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if server is not None:
            server.should_exit = True
            await server.task
        await app.close()


class _MetricsServer(uvicorn.Server):
    """The metrics listener; signals stay with `watch`."""

    task: asyncio.Task[None]

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _metrics_server(app: App, port: int) -> _MetricsServer:
    config = uvicorn.Config(build_listener(app, "metrics"), loop="none", lifespan="off", log_config=None,
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
