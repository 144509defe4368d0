"""`gatekeeper courier watch`: only the delivery worker, for a dedicated deployment (Kratos' `courier watch`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from gatekeeper.config import Config, load_config
from gatekeeper.errors import StoreUnavailable
from gatekeeper.identity.courier.service import Courier
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
    watch.set_defaults(run=_watch)


def _watch(args: argparse.Namespace) -> int:
    from gatekeeper.cli import _run_async

    config = load_config(args.config, dev=args.dev, secrets_needed=False)
    configure_logging(config.log)
    return _run_async(watch(config))


async def watch(config: Config) -> int:
    """Deliver until SIGTERM/SIGINT; returns the exit code (1 when the database needs migrations)."""
    store = new_store(config.database)
    courier = Courier(config, store)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        if not await _connect(store, stopping):
            return 0
        if pending := await store.pending_migrations():
            names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
            print(f"the database has pending migrations ({names}): run `gatekeeper migrate up`", file=sys.stderr)
            return 1
        await courier.worker.start()
        await stopping.wait()
        await courier.worker.stop()
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await store.close()


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
