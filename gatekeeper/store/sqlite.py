"""SQLite driver: WAL mode, one serialised writer connection and a separate reader connection."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

import aiosqlite

from gatekeeper.errors import StoreError, StoreUnavailable, UniqueViolation
from gatekeeper.store.db import Database, NotConnected, QueryObserver, Row, timed, to_qmark

sqlite3.register_adapter(datetime, lambda value: value.isoformat())
sqlite3.register_converter("TIMESTAMP", lambda raw: datetime.fromisoformat(raw.decode()))
sqlite3.register_converter("BOOLEAN", lambda raw: raw not in (b"0", b""))


# OperationalErrors that mean "cannot use the database now" rather than "this statement is wrong".
_UNAVAILABLE = ("unable to open", "locked", "busy", "disk i/o", "disk is full", "readonly", "not a database")


def _translate(exc: Exception) -> Exception:
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in text:
        return UniqueViolation(reason=text)
    if isinstance(exc, sqlite3.OperationalError) and any(hint in text.lower() for hint in _UNAVAILABLE):
        return StoreUnavailable(reason=text)
    return StoreError(reason=f"{type(exc).__name__}: {text}")


def split_script(script: str) -> list[str]:
    """The complete statements of a SQL script (triggers' inner `;` included), in order."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in current.splitlines()):
        statements.append(current.strip())
    return statements


async def _run(conn: aiosqlite.Connection, sql: str) -> None:
    try:
        async with conn.execute(sql):
            pass
    except sqlite3.Error as exc:
        if sql != "ROLLBACK" or "no transaction" not in str(exc):
            raise _translate(exc) from exc


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    """Switch a new database to WAL; processes opening it at the same moment may briefly see it locked."""
    for attempt in range(50):
        try:
            async with conn.execute("PRAGMA journal_mode=WAL"):
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            await asyncio.sleep(0.1)


@lru_cache(maxsize=1024)
def _is_read(sql: str) -> bool:
    """Statements the reader connection may run; anything else (writes, RETURNING, CTEs) uses the writer."""
    return sql.lstrip().split(None, 1)[0].lower() in ("select", "pragma", "explain", "values")


class _Connection:
    """Statements on one aiosqlite connection, with driver errors translated."""

    dialect: Literal["sqlite"] = "sqlite"
    on_query: QueryObserver | None = None

    def __init__(self, conn: aiosqlite.Connection, on_query: QueryObserver | None) -> None:
        self._conn = conn
        self.on_query = on_query

    async def execute(self, sql: str, *args: Any) -> int:
        with timed(self.on_query, sql):
            try:
                async with self._conn.execute(to_qmark(sql), args) as cursor:
                    return cursor.rowcount
            except sqlite3.Error as exc:
                raise _translate(exc) from exc

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with timed(self.on_query, sql):
            try:
                await self._conn.executemany(to_qmark(sql), rows)
            except sqlite3.Error as exc:
                raise _translate(exc) from exc

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        with timed(self.on_query, sql):
            try:
                async with self._conn.execute(to_qmark(sql), args) as cursor:
                    return cast(list[Row], list(await cursor.fetchall()))  # sqlite3.Row: read by column name
            except sqlite3.Error as exc:
                raise _translate(exc) from exc

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        with timed(self.on_query, sql):
            try:
                async with self._conn.execute(to_qmark(sql), args) as cursor:
                    return cast(Row | None, await cursor.fetchone())
            except sqlite3.Error as exc:
                raise _translate(exc) from exc

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        with timed(self.on_query, sql):
            try:
                async with self._conn.execute(to_qmark(sql), args) as cursor:
                    row = await cursor.fetchone()
            except sqlite3.Error as exc:
                raise _translate(exc) from exc
        return None if row is None else row[0]


class _Transaction(_Connection):
    def transaction(self) -> Any:
        raise RuntimeError("nested transactions are not supported")

    async def run_script(self, script: str) -> None:
        """Run the script's statements one by one, inside this transaction."""
        for statement in split_script(script):
            await self.execute(statement)


class SqliteDatabase(_Connection):
    """Writes (and transactions) go through one connection under a lock; reads use their own connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._conn = NotConnected()  # type: ignore[assignment]

    async def connect(self) -> None:
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._writer = await self._open()
            await _enable_wal(self._writer)
            self._reader = await self._open() if self.path != ":memory:" else self._writer
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise StoreUnavailable(reason=f"sqlite://{self.path}: cannot open the database: {exc}") from exc
        except BaseException:  # cancelled (shutdown during start-up): leave no connection thread behind
            await self.close()
            raise
        self._conn = self._reader

    async def _open(self) -> aiosqlite.Connection:
        conn = aiosqlite.connect(self.path, detect_types=sqlite3.PARSE_DECLTYPES, isolation_level=None)
        try:
            await conn
            conn.row_factory = sqlite3.Row
            await conn.executescript("PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL;")
        except BaseException:
            conn.stop()  # its worker thread must not outlive the event loop
            raise
        return conn

    async def close(self) -> None:
        for conn in {id(c): c for c in (self._reader, self._writer) if c is not None}.values():
            await conn.close()
        self._reader = self._writer = None
        self._conn = NotConnected()  # type: ignore[assignment]

    async def execute(self, sql: str, *args: Any) -> int:
        async with self.transaction() as tx:
            return await tx.execute(sql, *args)

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.execute_many(sql, rows)

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        if _is_read(sql):
            return await super().fetch_all(sql, *args)
        async with self.transaction() as tx:  # INSERT ... RETURNING: writes go through the one writer
            return await tx.fetch_all(sql, *args)

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        if _is_read(sql):
            return await super().fetch_one(sql, *args)
        async with self.transaction() as tx:
            return await tx.fetch_one(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        writer = self._writer
        if writer is None:
            raise StoreUnavailable(reason="the database has not been reached yet")
        async with self._write_lock:
            await _run(writer, "BEGIN IMMEDIATE")
            try:
                yield _Transaction(writer, self.on_query)
            except BaseException:
                await _run(writer, "ROLLBACK")
                raise
            try:
                await _run(writer, "COMMIT")
            except StoreError:
                await _run(writer, "ROLLBACK")
                raise

    async def run_script(self, script: str) -> None:
        async with self.transaction() as tx:
            await tx.run_script(script)

    async def ping(self) -> None:
        await self.fetch_val("SELECT 1")
