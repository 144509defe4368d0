"""Admin API at scale: import N identities (default 100,000) through `PATCH /admin/identities` in batches of
1,000 (each identity its own transaction, pre-hashed pbkdf2 passwords as in a migration), then time list pages
(page_size 250) at the start, middle and end of the table by page_token, and an exact identifier lookup.

Run: `python -m bench.admin [--count 100000] [--dialect sqlite|postgres|both]`. Gatekeeper runs in this
process; PostgreSQL is the local server (a fresh database, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from gatekeeper.config import parse_config
from gatekeeper.identity import hashformats
from tests.support.servers import running_gatekeeper

BATCH = 1000
PAGE = 250
SAMPLES = 30


def config(dsn: str) -> Any:
    data = {"dsn": dsn, "dev": True, "secrets": {"cookie": ["bench-cookie-secret-0123456789abcdef"]},
            "log": {"level": "warning"}, "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}}}
    return parse_config(yaml.safe_dump(data), name="bench.yaml", env={})


async def timed_get(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> float:
    samples = []
    for _ in range(SAMPLES):
        start = time.perf_counter()
        resp = await client.get(url, params=params)
        samples.append(time.perf_counter() - start)
        assert resp.status_code == 200, resp.text
    return statistics.median(samples) * 1000


async def run(dsn: str, count: int, label: str) -> None:
    hashed = hashformats.make("pbkdf2-sha256", "bench-password")
    async with running_gatekeeper(config(dsn)) as gk, httpx.AsyncClient(base_url=gk.admin, timeout=600) as client:
        started = time.perf_counter()
        chunk_rates = []
        for first in range(0, count, BATCH):
            chunk_start = time.perf_counter()
            items = [{"create": {"schema_id": "default", "traits": {"email": f"user{n:07d}@bench.test"},
                                 "credentials": {"password": {"config": {"hashed_password": hashed}}}}}
                     for n in range(first, min(first + BATCH, count))]
            resp = await client.patch("/admin/identities", json={"identities": items})
            assert resp.status_code == 200, resp.text[:500]
            assert all(r["action"] == "create" for r in resp.json()["identities"])
            chunk_rates.append(len(items) / (time.perf_counter() - chunk_start))
        elapsed = time.perf_counter() - started
        tenth = max(1, len(chunk_rates) // 10)
        print(f"[{label}] imported {count} identities in {elapsed:.1f} s: {count / elapsed:.0f}/s "
              f"(first 10%: {statistics.mean(chunk_rates[:tenth]):.0f}/s, "
              f"last 10%: {statistics.mean(chunk_rates[-tenth:]):.0f}/s)", flush=True)
        db = gk.container.store.db
        ids = [r["id"] for r in await db.fetch_all("SELECT id FROM identities ORDER BY id")]
        await measure(client, ids, count, f"{label}, right after the import")
        if db.dialect == "postgres":  # what autovacuum does shortly after a bulk load: fresh planner statistics
            await db.execute("ANALYZE")
            await measure(client, ids, count, f"{label}, after ANALYZE")


async def measure(client: httpx.AsyncClient, ids: list[str], count: int, label: str) -> None:
    spots = {"start": None, "middle": ids[len(ids) // 2], "end": ids[-PAGE - 1]}
    for name, token in spots.items():
        params = {"page_size": str(PAGE), **({"page_token": token} if token else {})}
        ms = await timed_get(client, "/admin/identities", params)
        print(f"[{label}] list page ({PAGE}) at the {name:<6}: median {ms:.1f} ms", flush=True)
    ms = await timed_get(client, "/admin/identities", {"credentials_identifier": f"user{count - 1:07d}@bench.test"})
    print(f"[{label}] credentials_identifier lookup: median {ms:.1f} ms", flush=True)
    ms = await timed_get(client, "/admin/identities", {"preview_credentials_identifier_similar": "user00123",
                                                       "page_size": "50"})
    print(f"[{label}] preview_credentials_identifier_similar (prefix): median {ms:.1f} ms", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dialect", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    if args.dialect in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite://{Path(tmp) / 'bench.db'}?_fk=true", args.count, "sqlite")
    if args.dialect in ("postgres", "both"):
        from tests.support.databases import create_postgres_database, drop_postgres_database

        dsn, why = create_postgres_database()
        if dsn is None:
            print(f"[postgres] skipped: {why}")
            return
        try:
            await run(dsn, args.count, "postgres")
        finally:
            drop_postgres_database(dsn)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
