"""Revocation broadcast latency: 3 `gatekeeper serve` replicas on one PostgreSQL database; 100 sessions, each
warmed in the caches of B and C (proxy cache TTL 60 s), revoked on A (API logout); the time from A's answer until
B's and C's decisions API both refuse it. Prints p50/p99/max. The product promise is 1 s.

    python -m bench.revocation [--count 100] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.scale.cluster import cluster
from tests.scale.test_replicas import register_api


async def refused_after(client: httpx.AsyncClient, url: str, token: str, start: float) -> float:
    while True:
        resp = await client.get(url, cookies={"ory_kratos_session": token})
        if resp.status_code == 401:
            return time.monotonic() - start
        await asyncio.sleep(0.002)


async def measure(a: str, others: list[str], tokens: list[str]) -> list[float]:
    took = []
    async with httpx.AsyncClient(timeout=10) as client:
        for token in tokens:
            for api in others:  # warm every other replica's cache
                assert (await client.get(f"{api}/decisions/app/x", cookies={"ory_kratos_session": token})
                        ).status_code == 200
            await asyncio.sleep(random.uniform(0, 0.3))  # not in step with the replicas' poll timers
            resp = await client.request("DELETE", f"{a}/self-service/logout/api", json={"session_token": token})
            assert resp.status_code == 204
            start = time.monotonic()
            took.append(max(await asyncio.gather(*(refused_after(client, f"{api}/decisions/app/x", token, start)
                                                   for api in others))))
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--sqlite", action="store_true",
                        help="the 3 processes share one SQLite file: revocation by polling only (the fallback path)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, cluster(Path(tmp), sqlite=args.sqlite) as running:
        a, b, c = running.replicas
        tokens = [register_api(a, f"bench{i}@example.com") for i in range(args.count)]
        took = sorted(asyncio.run(measure(a.urls["public"], [b.urls["api"], c.urls["api"]], tokens)))
    ms = [t * 1000 for t in took]
    p99 = ms[max(0, math.ceil(len(ms) * 0.99) - 1)]  # nearest rank
    how = "SQLite, polling every 250 ms" if args.sqlite else "PostgreSQL, LISTEN/NOTIFY + 1 s poll"
    print(f"revocation on A until refused by B and C ({len(ms)} sessions, {how}):")
    print(f"  p50 {statistics.median(ms):.1f} ms   p99 {p99:.1f} ms   max {ms[-1]:.1f} ms   (bound: 1000 ms)")


if __name__ == "__main__":
    main()
