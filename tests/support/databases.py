"""Databases for tests: SQLite files under tmp_path, and a fresh PostgreSQL database per test session.

PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth) is used whenever it answers. When it does
not, PostgreSQL tests are skipped with the reason, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg

ADMIN_DSN = os.environ.get("GATEKEEPER_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")


def postgres_url(database: str) -> str:
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN, timeout=3)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _run(coro_factory: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    def run() -> Any:
        coro: Coroutine[Any, Any, Any] = coro_factory()
        return asyncio.run(coro)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def create_postgres_database() -> tuple[str | None, str]:
    """Create a fresh database; returns (its DSN, "") or (None, why PostgreSQL is unusable)."""
    name = f"gk_test_{uuid.uuid4().hex[:12]}"
    try:
        _run(lambda: _admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return None, f"PostgreSQL at {ADMIN_DSN} is not usable: {type(exc).__name__}: {exc}"
    return postgres_url(name), ""


def drop_postgres_database(dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1]
    _run(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def reset_postgres(dsn: str) -> None:
    """Empty every gatekeeper table (keeps the schema) so each test starts from nothing."""
    conn = await asyncpg.connect(dsn, timeout=3)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'gatekeeper_migrations'")
        if tables:
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} CASCADE")
    finally:
        await conn.close()
