"""PostgreSQL driver on an asyncpg connection pool."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from gatekeeper.config.dsn import Dsn
from gatekeeper.errors import StoreError, StoreUnavailable, UniqueViolation
from gatekeeper.store.db import Database, NotConnected, QueryObserver, Row, timed

log = logging.getLogger("gatekeeper.store")

# Kratos/pop DSN options that size the pool rather than the connection.
_POOL_OPTIONS = {"max_conns", "max_idle_conns", "max_conn_lifetime", "max_conn_idle_time"}
_UNAVAILABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError, TimeoutError)


def split_dsn(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN asyncpg understands, and the pool options Kratos DSNs carry in their query."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    pool = {k: query.pop(k) for k in list(query) if k in _POOL_OPTIONS}
    return urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query))), pool


def _translate(exc: BaseException) -> Exception:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return UniqueViolation(reason=str(exc))
    if isinstance(exc, _UNAVAILABLE):
        return StoreUnavailable(reason=f"{type(exc).__name__}: {exc or 'no answer in time'}")
    return StoreError(reason=f"{type(exc).__name__}: {exc}")


class _Connection:
    dialect: Literal["postgres"] = "postgres"
    on_query: QueryObserver | None = None

    def __init__(self, conn: Any, on_query: QueryObserver | None) -> None:
        self._conn = conn  # a pool or a connection: both have execute/fetch/fetchrow/fetchval
        self.on_query = on_query

    async def execute(self, sql: str, *args: Any) -> int:
        with timed(self.on_query, sql):
            try:
                status = await self._conn.execute(sql, *args)
            except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:
                raise _translate(exc) from exc
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with timed(self.on_query, sql):
            try:
                await self._conn.executemany(sql, rows)
            except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:
                raise _translate(exc) from exc

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        with timed(self.on_query, sql):
            try:
                return list(await self._conn.fetch(sql, *args))
            except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:
                raise _translate(exc) from exc

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        with timed(self.on_query, sql):
            try:
                row: Row | None = await self._conn.fetchrow(sql, *args)
                return row
            except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:
                raise _translate(exc) from exc

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        with timed(self.on_query, sql):
            try:
                return await self._conn.fetchval(sql, *args)
            except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:
                raise _translate(exc) from exc


class _Transaction(_Connection):
    def transaction(self) -> Any:
        raise RuntimeError("nested transactions are not supported")

    async def run_script(self, script: str) -> None:
        await self.execute(script)


class PostgresDatabase(_Connection):
    """A connection pool per process; transactions borrow one connection."""

    def __init__(self, dsn: str) -> None:
        self.dsn, self._pool_options = split_dsn(dsn)
        self.masked_dsn = Dsn("postgres", dsn).masked()
        self._pool: asyncpg.Pool | None = None
        self._conn = NotConnected()

    async def connect(self) -> None:
        max_size = int(self._pool_options.get("max_conns", 10))
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=1, max_size=max_size, timeout=5, command_timeout=30,
                max_inactive_connection_lifetime=300,
            )
        except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:  # refused, unknown host, bad password, no such db
            raise StoreUnavailable(reason=f"{self.masked_dsn}: {type(exc).__name__}: {exc or 'no answer in time'}"
                                   ) from exc
        self._conn = self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
            self._conn = NotConnected()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        if self._pool is None:
            raise StoreUnavailable(reason="the database has not been reached yet")
        try:
            conn = await self._pool.acquire()
        except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:
            raise _translate(exc) from exc
        try:
            async with conn.transaction():
                yield _Transaction(conn, self.on_query)
        except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:  # BEGIN/COMMIT themselves failed
            raise _translate(exc) from exc
        finally:
            await self._pool.release(conn)

    @asynccontextmanager
    async def locked(self, key: int) -> AsyncIterator[Database]:
        """Hold a session-level advisory lock on one connection (migrations across replicas)."""
        if self._pool is None:
            raise StoreUnavailable(reason="the database has not been reached yet")
        try:
            conn = await self._pool.acquire()
        except (asyncpg.PostgresError, *_UNAVAILABLE) as exc:
            raise _translate(exc) from exc
        try:
            locked = _Transaction(conn, self.on_query)
            # poll rather than block: a long migration elsewhere must not trip this connection's command_timeout
            waited = 0.0
            while not await locked.fetch_val("SELECT pg_try_advisory_lock($1)", key):
                if waited == 5.0:
                    log.warning("waiting for the migrations lock held by another process", extra={"lock": key})
                await asyncio.sleep(0.2)
                waited = round(waited + 0.2, 1)
            try:
                yield locked
            finally:
                await locked.execute("SELECT pg_advisory_unlock($1)", key)
        finally:
            await self._pool.release(conn)

    async def run_script(self, script: str) -> None:
        async with self.transaction() as tx:
            await tx.execute(script)

    async def ping(self) -> None:
        await self.fetch_val("SELECT 1")
