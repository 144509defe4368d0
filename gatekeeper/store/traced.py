"""Store statements as spans: a client span per statement, as a child of the work that ran it (a request, a
courier delivery); statements outside any trace (polling, clean-up) make none."""

from __future__ import annotations

import re
from functools import lru_cache

from gatekeeper.errors import StoreError
from gatekeeper.observe.tracing import Tracer
from gatekeeper.store.db import QueryObserver

_TABLE = re.compile(r"\b(?:from|into|update|join)\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)
_SYSTEMS = {"sqlite": "sqlite", "postgres": "postgresql"}  # db.system's values


@lru_cache(maxsize=1024)
def _describe(sql: str) -> tuple[str, str, str]:
    """(operation, table, text on one line) of a statement; the table is empty when none is named."""
    words = sql.split()
    table = _TABLE.search(sql)
    return words[0].upper() if words else "SQL", table.group(1) if table else "", " ".join(words)


def traced_queries(observer: QueryObserver | None, tracer: Tracer, dialect: str) -> QueryObserver:
    """`observer` (the store metrics) plus a span per statement."""
    system = _SYSTEMS.get(dialect, dialect)

    def observe(sql: str, seconds: float, error: StoreError | None) -> None:
        if observer is not None:
            observer(sql, seconds, error)
        operation, table, text = _describe(sql)
        attributes = {"db.system": system, "db.operation.name": operation, "db.query.text": text}
        if table:
            attributes["db.collection.name"] = table
        tracer.record(f"{operation} {table}" if table else operation, seconds, attributes,
                      None if error is None else type(error).__name__, client=True)

    return observe
