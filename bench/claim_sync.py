"""Claims kept current: 2 in-process replicas on one database, a provider entry with
`update_identity_on_login: automatic` and a rule `"admins" in identity.metadata_public.groups`. Each round the
IdP adds or removes the user's group, the user signs in again on A, and the time is taken from A's answer until
B's decisions API (which had the user's older session cached for a minute) decides the other way. Prints
p50/p95/max; the bound is the revocation bound, 1 s.

    python -m bench.claim_sync [--rounds 40] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from gatekeeper.config.dsn import Dsn
from gatekeeper.store import open_store
from tests.oidc.test_claim_sync import replicas, sign_in
from tests.support.databases import create_postgres_database, drop_postgres_database


async def measure(dsn: str, tmp: Path, rounds: int) -> list[float]:
    store = await open_store(Dsn.parse(dsn))
    await store.migrate()
    await store.close()
    took = []
    async with replicas(dsn, tmp, 2) as ([a, b], idp), httpx.AsyncClient() as client:
        laptop = await sign_in(a, "synced", "registration")
        cookies = {"ory_kratos_session": laptop.cookies["ory_kratos_session"]}
        for i in range(rounds):
            want = 403 if i % 2 == 0 else 200
            idp.user["groups"] = ["staff"] if want == 403 else ["admins"]
            assert (await client.get(f"{b.api}/decisions/reports", cookies=cookies)).status_code != want
            phone = await sign_in(a, "synced")
            start = time.monotonic()
            while (await client.get(f"{b.api}/decisions/reports", cookies=cookies)).status_code != want:
                await asyncio.sleep(0.002)
            took.append(time.monotonic() - start)
            await phone.aclose()
        await laptop.aclose()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (LISTEN/NOTIFY) instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dsn = f"sqlite://{tmp}/gk.db?_fk=true"
        if args.postgres:
            created, why = create_postgres_database()
            if created is None:
                raise SystemExit(f"PostgreSQL is not available: {why}")
            dsn = created
        try:
            ms = sorted(t * 1000 for t in asyncio.run(measure(dsn, Path(tmp), args.rounds)))
        finally:
            if args.postgres:
                drop_postgres_database(dsn)
    p95 = ms[max(0, math.ceil(len(ms) * 0.95) - 1)]
    how = "PostgreSQL, LISTEN/NOTIFY" if args.postgres else "SQLite, polling every 250 ms"
    print(f"group change at the IdP, sign-in on A, until B's rule decides the other way ({len(ms)} rounds, {how}):")
    print(f"  p50 {statistics.median(ms):.1f} ms   p95 {p95:.1f} ms   max {ms[-1]:.1f} ms   (bound: 1000 ms)")


if __name__ == "__main__":
    main()
