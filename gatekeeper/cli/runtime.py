"""What the commands share: running a coroutine on uvloop, a store connected and checked for migrations, the
config checks `serve` and `config check` both apply, and the server's optional parts the config asks for."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from gatekeeper.access.global_config import check_global_config
from gatekeeper.config import Config, ConfigPaths, load_config
from gatekeeper.config.dsn import Dsn
from gatekeeper.server.optional_parts import KeyWiring, OptionalParts, OtelFactory, keys_enabled
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


def add_config_option(parser: argparse.ArgumentParser, text: str = "YAML config file", *,
                      inherit: bool = False) -> None:
    """`-c/--config FILE`, repeatable as in Kratos' CLI (merged in order, also with `-c` given before the command);
    `$GATEKEEPER_CONFIG` when none is given (`config_paths` puts them together). `inherit`: no default, so what a
    parent command parsed stays."""
    parser.add_argument("--config", "-c", action="append", metavar="FILE", help=f"{text} (repeatable: merged in order)",
                        default=argparse.SUPPRESS if inherit else None)


def config_paths(before_command: list[str] | None, after_command: list[str] | None) -> list[str] | None:
    """The config files of one invocation, in order; None when there are none (defaults only)."""
    given = [*(before_command or []), *(after_command or [])]
    if given:
        return given
    env = os.environ.get("GATEKEEPER_CONFIG")
    return [env] if env else None


def load_checked(paths: ConfigPaths, *, dev: bool) -> Config:
    """The config, with every enabled handler's global config and the permission model validated too (serve and
    config check)."""
    config = load_config(paths, dev=dev)
    check_global_config(config)
    load_model(config)  # an OPL file's problems, with file:line:column
    return config


def optional_parts(config: Config) -> OptionalParts:
    """The server's optional parts `config` asks for, each imported only then: a server without them never loads
    their libraries."""
    return OptionalParts(otel=otel_factory(config), keys=key_wiring(config))


def otel_factory(config: Config) -> OtelFactory | None:
    """The OpenTelemetry tracer (its SDK and protobuf) for `tracing.provider: otel`; None otherwise."""
    if not config.tracing.exported:
        return None
    from gatekeeper.observe.otel import OtelTracer
    return OtelTracer


def key_wiring(config: Config) -> KeyWiring | None:
    """The passkey and webauthn methods (py_webauthn) when one of them is enabled; None otherwise."""
    if not keys_enabled(config):
        return None
    from gatekeeper.server.key_wiring import build_keys
    return build_keys
