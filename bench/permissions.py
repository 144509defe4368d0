"""In-process permission check latency (no HTTP): a direct tuple, and a file whose viewer is found three folders
up (`File -> Folder -> Folder -> Folder#viewers`), on SQLite and PostgreSQL, among `--tuples` other tuples.
Prints p50/p99 per case. (The 1M-tuple run and the through-the-proxy ratio of issue 16 are not here yet.)

    python -m bench.permissions [--tuples 10000] [--checks 2000] [--dialect sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from gatekeeper.config.dsn import Dsn
from gatekeeper.config.permissions import Limit
from gatekeeper.permissions.check import CheckEngine
from gatekeeper.permissions.model import RelationTuple
from gatekeeper.permissions.namespaces import read_opl_file
from gatekeeper.store import open_store
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


async def measure(dsn: str, tuples: int, checks: int) -> None:
    store = await open_store(Dsn.parse(dsn))
    try:
        await store.migrate()
        filler = [TupleRow("File", f"file{i}", "owners", f"user{i % 997}") for i in range(tuples)]
        for start in range(0, len(filler), 5000):
            await store.write_relation_tuples(filler[start:start + 5000])
        await store.write_relation_tuples(MODEL)
        namespaces = read_opl_file(str(OPL))
        engine = CheckEngine(store, lambda: namespaces, Limit(max_read_depth=10))
        for name, question in CASES.items():
            assert await engine.check(question), f"{name} should be allowed"
            took = []
            for _ in range(checks):
                start = time.perf_counter()
                await engine.check(question)
                took.append((time.perf_counter() - start) * 1000)
            took.sort()
            p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
            print(f"{store.dialect:8} {name:38} p50 {statistics.median(took):6.2f} ms  p99 {p99:6.2f} ms")
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tuples", type=int, default=10_000)
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
