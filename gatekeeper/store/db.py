"""The dialect seam: a tiny async database protocol that the SQLite and PostgreSQL drivers implement.

SQL is written once, with `$1, $2` placeholders (PostgreSQL's); the SQLite driver rewrites them to
`?1, ?2` (cached). Timestamps are timezone-aware `datetime`s and booleans `bool` on both drivers;
JSON columns are passed and returned as text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from functools import lru_cache
from typing import Any, Literal, Protocol

from gatekeeper.errors import StoreError, StoreUnavailable

Row = Mapping[str, Any]
QueryObserver = Callable[[str, float, "StoreError | None"], None]
"""(sql, seconds, the StoreError it raised or None)."""


class Database(Protocol):
    """What the persisters need from a connection (pool): run SQL, read rows, group work atomically."""

    on_query: QueryObserver | None

    @property
    def dialect(self) -> Literal["sqlite", "postgres"]: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows it changed."""

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetch_one(self, sql: str, *args: Any) -> Row | None: ...

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetch_val(self, sql: str, *args: Any) -> Any: ...

    def transaction(self) -> AbstractAsyncContextManager[Database]:
        """All statements on the yielded database commit together or not at all."""

    async def run_script(self, script: str) -> None:
        """Run a multi-statement DDL script (migrations) atomically."""


_PLACEHOLDER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=1024)
def to_qmark(sql: str) -> str:
    """`$1` placeholders to SQLite's numbered `?1` form."""
    return _PLACEHOLDER.sub(r"?\1", sql)


@contextmanager
def timed(observer: QueryObserver | None, sql: str) -> Iterator[None]:
    """Report the statement's duration, and the store error it raised if any, to the observer (metrics)."""
    if observer is None:
        yield
        return
    start = time.perf_counter()
    error: StoreError | None = None
    try:
        yield
    except StoreError as exc:
        error = exc
        raise
    finally:
        observer(sql, time.perf_counter() - start, error)


class NotConnected:
    """Stands in for the connection until the database has been reached: every call is unavailable."""

    def __getattr__(self, name: str) -> Any:
        raise StoreUnavailable(reason="the database has not been reached yet")
