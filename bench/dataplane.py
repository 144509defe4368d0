"""The data-plane table (`python -m bench.dataplane [--seconds 10]`): every figure beside the anchor it is compared
with, all measured in this run on this machine (the anchors are started here: nginx, a Starlette hello, a raw
asyncio + httptools hello).

    P1  gatekeeper proxy / nginx proxy_pass (cookie_session + header rule, warm session cache)   target >= 0.30
    P2  nginx auth_request -> gatekeeper decisions / nginx proxy_pass                             target >= 0.40
    P3  latency gatekeeper adds at 1 connection, p50                                              target <= 0.15 ms
    P4  event-loop lag p99 during a login storm (bcrypt-12 in the hashing pool)                   target <= 5 ms
    P5  warm GET /sessions/whoami / bare Starlette hello                                          target >= 1.0
    P7  RSS of one process with 100,000 cached sessions                                           target <= 150 MB

The parts run as `bench.dataplane_server` (ceilings), `bench.proxy` (P1-P3), `bench.identity` (P4, P5) and
`bench.memory` (P7); each can run alone for its details.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import uvloop

from bench import dataplane_server, identity, memory, proxy


def main(seconds: int, sessions: int, tracing: float | None = None) -> dict[str, Any]:
    """`tracing`: a sampling ratio; the proxy rows (P1-P3) with tracing on (see `bench.proxy --tracing`)."""
    ceilings = dataplane_server.main(seconds, 1)
    proxied = proxy.main(seconds, tracing=tracing)
    ident = uvloop.run(identity.main(seconds))  # gatekeeper and the hello on uvloop, as `gatekeeper serve` runs
    mem = memory.main(sessions)
    lag = ident["loop_lag_during_storm"]["p99_ms"]
    rows = [
        ("P1 proxy / nginx proxy_pass", proxied["proxy_ratio"], ">= 0.30", proxied["proxy_ratio"] >= 0.30,
         f"raw httptools proxy, no rules / proxy_pass: {proxied['raw_proxy_ratio']:.2f}; "
         f"raw httptools hello / nginx return 200: {1 / ceilings['nginx return 200']:.2f}; "
         f"Starlette hello / nginx proxy_pass: {proxied['hello_ratio']:.2f}"),
        ("P2 auth_request -> decisions / proxy_pass", proxied["decisions_ratio"], ">= 0.40",
         proxied["decisions_ratio"] >= 0.40,
         f"auth_request -> Starlette hello: {proxied['auth_request_hello_ratio']:.2f}, -> raw httptools hello: "
         f"{proxied['auth_request_raw_ratio']:.2f}"),
        ("P3 added p50 at 1 connection (ms)", proxied["added_p50_ms_1conn"], "<= 0.15",
         proxied["added_p50_ms_1conn"] <= 0.15, "-"),
        ("P4 loop lag p99 in a login storm (ms)", lag, "<= 5", lag <= 5, "-"),
        ("P5 warm whoami / Starlette hello", ident["whoami_vs_hello"], ">= 1.0", ident["whoami_vs_hello"] >= 1.0,
         f"data-plane hello / raw hello: {ceilings['gatekeeper.dataplane, trivial handler']:.2f}"),
        (f"P7 RSS, {sessions} cached sessions (MiB)", mem["rss_cached_mib"], "<= 143 MiB (150 MB)",
         mem["rss_cached_mib"] <= 143, f"before the lookups: {mem['rss_before_mib']} MiB"),
    ]
    print(f"\n{'measure':<42} {'value':>8}  {'target':<20} {'met':<4} anchors in the same run")
    for name, value, target, met, anchor in rows:
        print(f"{name:<42} {value:>8.3f}  {target:<20} {'yes' if met else 'no':<4} {anchor}")
    return {"ceilings": ceilings, "proxy": proxied, "identity": ident, "memory": mem}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--sessions", type=int, default=100_000, help="cached sessions for P7")
    parser.add_argument("--tracing", type=float, nargs="?", const=1.0, metavar="RATIO",
                        help="P1-P3 with tracing on (sampling ratio RATIO, default 1), spans exported to a local sink")
    args = parser.parse_args()
    print(json.dumps(main(args.seconds, args.sessions, args.tracing), default=str))
