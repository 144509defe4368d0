"""`Container`: everything one gatekeeper process runs, built once by `build(config)`; every collaborator is a
typed field, handed to the parts that need it through their constructors."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from gatekeeper.config import Config
from gatekeeper.errors import GatekeeperError
from gatekeeper.http.keto.services import PermissionServices
from gatekeeper.identity.revocation import RevocationBroadcast
from gatekeeper.jwks import JwksCache
from gatekeeper.observe import MULTIPROCESS_DIR, Metrics, Readiness
from gatekeeper.observe.tracing import NoTracer, Tracer
from gatekeeper.permissions.metrics import PermissionMetrics
from gatekeeper.server.access_wiring import AccessServices, build_access
from gatekeeper.server.identity_wiring import IdentityServices, build_identity
from gatekeeper.server.optional_parts import OptionalParts
from gatekeeper.server.permissions_wiring import InProcessChecks, TupleChangeBroadcast, build_permissions
from gatekeeper.server.tracing import build_tracer, http_client, observe_queries
from gatekeeper.store import Store, new_store


class Service(Protocol):
    """A background component with a lifecycle (rule watcher, courier worker, cache invalidation...)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Container:
    config: Config
    store: Store
    metrics: Metrics
    http: httpx.AsyncClient
    readiness: Readiness
    identity: IdentityServices
    access: AccessServices
    permissions: PermissionServices
    services: list[Service]  # started in this order, stopped in reverse
    store_connected: asyncio.Event = field(default_factory=asyncio.Event)
    tracer: Tracer = field(default_factory=NoTracer)  # OpenTelemetry when `tracing.provider: otel`

    async def start_services(self) -> None:
        for service in self.services:
            await service.start()

    async def close(self) -> None:
        for service in reversed(self.services):
            with contextlib.suppress(Exception):
                await service.stop()
        await self.http.aclose()
        await self.store.close()
        await self.tracer.stop()  # last: the spans of the drained requests and stopped services go out


async def build(config: Config, parts: OptionalParts) -> Container:
    """Construct every service in dependency order; nothing runs until `start_services`. `parts`: the parts
    the config asks for whose libraries load only then (`cli.runtime.optional_parts(config)`)."""
    metrics = Metrics(os.environ.get(MULTIPROCESS_DIR))  # set for the worker processes of serve.workers
    tracer = build_tracer(config, parts.otel)
    http = http_client(tracer)
    store = new_store(config.store_dsn)
    observe_queries(store, metrics, tracer)
    store_connected = asyncio.Event()
    jwks = JwksCache(http)  # one cache of key sets: the id_token mutator and the session tokenizer follow one file
    identity = await build_identity(config, store, http, metrics, store_connected, jwks, tracer, parts.keys)
    sessions = identity.ctx.sessions
    tuple_changes = TupleChangeBroadcast.for_config(config, store)
    permissions = build_permissions(config, store, PermissionMetrics(metrics.registry), tuple_changes)
    access = build_access(config, http, metrics, sessions, jwks, tracer, InProcessChecks(permissions.checks, config))
    # a session revoked on any replica: dropped from this one's cache, and its WebSocket/SSE connections closed;
    # tuples written on any replica: this one's cached check answers dropped
    revocation = RevocationBroadcast(
        store, [TupleChangeBroadcast.sessions_only(lambda hashes: sessions.forget(*hashes)),
                TupleChangeBroadcast.sessions_only(access.live.revoked), tuple_changes.received],
        lambda: forget_all(sessions.forget_all, tuple_changes.cache.clear), metrics.registry)
    readiness = Readiness(metrics.ready)
    container = Container(
        config=config, store=store, metrics=metrics, http=http, readiness=readiness, identity=identity,
        access=access, permissions=permissions, store_connected=store_connected, tracer=tracer,
        services=[identity.courier.worker, identity.cleanup, revocation, access.live, access.repository,
                  access.forwarder, permissions.watcher,
                  *([identity.token_refresher] if identity.token_refresher else [])])
    readiness.checks["database"] = lambda: store_ready(store, store_connected)
    readiness.checks["rules"] = access.repository.ready
    return container


def forget_all(*clears: Callable[[], None]) -> None:
    """The revocation broadcast could not be read: every cache it keeps current is dropped (fail closed)."""
    for clear in clears:
        clear()


async def store_ready(store: Store, connected: asyncio.Event) -> str | None:
    """The database readiness check: reached, answering, and without pending migrations."""
    if not connected.is_set():
        return "the database has not been reached yet"
    try:
        await store.ping()
    except GatekeeperError:
        return "the database does not answer"
    if await store.pending_migrations():
        return "the database has pending migrations"
    return None
