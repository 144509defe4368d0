"""Permission check latency in process (no HTTP), on SQLite and PostgreSQL among `--tuples` other tuples (default
1,000,000, bulk-loaded: COPY on PostgreSQL, one executemany transaction on SQLite): a direct tuple, and a file whose
viewer is found three folders up (`File -> Folder -> Folder -> Folder#viewers`). Per case: the statements one
check sends, and p50/p99 without the check cache and with it (answers reused until a tuple write; issue 16's
target is p99 <= 2 ms at depth 3 on PostgreSQL with 1M tuples).

    python -m bench.permissions [--tuples 1000000] [--checks 2000] [--dialect sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from gatekeeper.config.dsn import Dsn
from gatekeeper.config.permissions import Limit
from gatekeeper.permissions.cache import CheckCache
from gatekeeper.permissions.check import CheckEngine
from gatekeeper.permissions.model import RelationTuple
from gatekeeper.permissions.namespaces import read_opl_file
from gatekeeper.store import Store, open_store
from gatekeeper.store.postgres import split_dsn
from gatekeeper.store.relation_tuples import TupleRow
from tests.support.databases import create_postgres_database, drop_postgres_database

OPL = Path(__file__).parent.parent / "tests" / "permissions" / "fixtures" / "namespaces.keto.ts"
MODEL = [
    TupleRow("File", "target", "parents", None, ("Folder", "f1", "")),
    TupleRow("Folder", "f1", "parents", None, ("Folder", "f2", "")),
    TupleRow("Folder", "f2", "parents", None, ("Folder", "f3", "")),
    TupleRow("Folder", "f3", "viewers", "ada"),
    TupleRow("File", "target", "owners", "bob"),
]
CASES = {"direct tuple (File#owners)": RelationTuple("File", "target", "owners", "bob"),
         "3-level folder traversal (File#view)": RelationTuple("File", "target", "view", "ada")}
COLUMNS = ["namespace", "object", "relation", "subject_id", "subject_set_namespace", "subject_set_object",
           "subject_set_relation", "created_at"]


def filler(count: int) -> Iterator[tuple[Any, ...]]:
    """Files owned by users and filed in folders, folders nested and shared with groups, groups of users."""
    now = datetime.now(UTC)
    for i in range(count):
        kind = i % 4
        if kind == 0:
            yield ("File", f"file{i}", "owners", f"user{i % 9973}", None, None, None, now)
        elif kind == 1:
            yield ("File", f"file{i - 1}", "parents", None, "Folder", f"folder{i % 50000}", "", now)
        elif kind == 2:
            yield ("Folder", f"folder{i % 50000}", "viewers", None, "Group", f"group{i % 5000}", "members", now)
        else:
            yield ("Group", f"group{i % 5000}", "members", f"user{i % 9973}", None, None, None, now)


async def bulk_load(store: Store, dsn: str, count: int) -> float:
    """Seconds to load `count` filler tuples next to the store's own connections."""
    start = time.perf_counter()
    if store.dialect == "postgres":
        conn = await asyncpg.connect(split_dsn(dsn)[0])
        try:
            # the filler has duplicates (a group's member, a folder's viewer): COPY into a staging table first
            await conn.execute("CREATE TEMP TABLE staging (LIKE relation_tuples INCLUDING DEFAULTS)")
            await conn.copy_records_to_table("staging", records=filler(count), columns=COLUMNS)
            await conn.execute(f"INSERT INTO relation_tuples ({', '.join(COLUMNS)}) "  # noqa: S608
                               f"SELECT {', '.join(COLUMNS)} FROM staging ON CONFLICT DO NOTHING")
            await conn.execute("ANALYZE relation_tuples")
        finally:
            await conn.close()
    else:
        db = sqlite3.connect(dsn.removeprefix("sqlite://").split("?")[0])
        try:
            with db:
                db.executemany(f"INSERT OR IGNORE INTO relation_tuples ({', '.join(COLUMNS)}) "  # noqa: S608
                               f"VALUES ({', '.join('?' * len(COLUMNS))})",
                               ((*row[:7], row[7].isoformat()) for row in filler(count)))
            db.execute("ANALYZE")
        finally:
            db.close()
    return time.perf_counter() - start


async def timings(engine: CheckEngine, question: RelationTuple, checks: int) -> tuple[float, float]:
    took = []
    for _ in range(checks):
        start = time.perf_counter()
        await engine.check(question)
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))]


async def measure(dsn: str, tuples: int, checks: int) -> None:
    store = await open_store(Dsn.parse(dsn))
    try:
        await store.migrate()
        loaded = await bulk_load(store, dsn, tuples)
        await store.write_relation_tuples(MODEL)
        print(f"{store.dialect:8} {tuples:,} tuples loaded in {loaded:.1f} s")
        namespaces = read_opl_file(str(OPL))
        limit = Limit(max_read_depth=10)
        plain = CheckEngine(store, lambda: namespaces, limit)
        cached = CheckEngine(store, lambda: namespaces, limit, cache=CheckCache(ttl=3600, size=1000))
        statements = 0

        def count(_sql: str, _seconds: float, _error: object) -> None:
            nonlocal statements
            statements += 1

        for name, question in CASES.items():
            store.db.on_query, statements = count, 0
            assert await plain.check(question), f"{name} should be allowed"
            store.db.on_query = None
            p50, p99 = await timings(plain, question, checks)
            c50, c99 = await timings(cached, question, checks)
            print(f"{store.dialect:8} {name:38} {statements} statements  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
                  f"   cached: p50 {c50:6.3f} ms  p99 {c99:6.3f} ms")
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tuples", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--dialect", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    if args.dialect in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            await measure(f"sqlite://{tmp}/bench.db?_fk=true", args.tuples, args.checks)
    if args.dialect in ("postgres", "both"):
        dsn, why = create_postgres_database()
        if dsn is None:
            print(f"postgres skipped: {why}")
            return
        try:
            await measure(dsn, args.tuples, args.checks)
        finally:
            drop_postgres_database(dsn)


if __name__ == "__main__":
    asyncio.run(main())
