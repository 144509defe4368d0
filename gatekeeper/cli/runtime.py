"""What the commands share: running a coroutine on uvloop, a store connected and checked for migrations, and
the config checks `serve` and `config check` both apply."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from gatekeeper.access.global_config import check_global_config
from gatekeeper.config import Config, load_config
from gatekeeper.config.dsn import Dsn
from gatekeeper.server.permissions_wiring import load_model
from gatekeeper.store import Store, new_store

try:
    import uvloop
except ImportError:  # no uvloop on Windows: the standard event loop
    uvloop = None  # type: ignore[assignment]

EXIT_CONFIG = 2
T = TypeVar("T")


class NotMigrated(Exception):
    """The database has migrations to apply before this command can use it."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"the database has pending migrations ({', '.join(names)}): run `gatekeeper migrate up`")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine on uvloop."""
    return uvloop.run(coro) if uvloop is not None else asyncio.run(coro)


@contextlib.asynccontextmanager
async def migrated_store(dsn: Dsn) -> AsyncIterator[Store]:
    """A connected store whose migrations are all applied (NotMigrated otherwise); closed afterwards."""
    store = new_store(dsn)
    try:
        await store.connect()
        await ensure_migrated(store)
        yield store
    finally:
        await store.close()


async def ensure_migrated(store: Store) -> None:
    if pending := await store.pending_migrations():
        raise NotMigrated([f"{m.version:04d}_{m.name}" for m in pending])


def load_checked(path: str | None, *, dev: bool) -> Config:
    """The config, with every enabled handler's global config and the permission model validated too (serve and
    config check)."""
    config = load_config(path, dev=dev)
    check_global_config(config)
    load_model(config)  # an OPL file's problems, with file:line:column
    return config

