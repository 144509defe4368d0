"""`make bench`: every benchmark in turn, each printing its figures and ratios against its anchors.

Run one alone with `python -m bench.<name> --help`; the admin import of 100,000 identities is long,
so `make bench` runs it with 20,000 (`python -m bench.admin` for the full figure).
"""

from __future__ import annotations

import subprocess
import sys

RUNS = [
    ["bench.foundation", "10"],
    ["bench.dataplane", "--seconds", "10"],  # the data-plane table: proxy, decisions, whoami, loop lag, memory
    ["bench.revocation", "--count", "100"],
    ["bench.claim_sync", "--rounds", "40"],
    ["bench.courier", "sqlite:///tmp/gatekeeper-bench-courier.db", "1000", "10"],
    ["bench.admin", "--count", "20000", "--dialect", "both"],
    ["bench.permissions", "--tuples", "1000000", "--dialect", "both"],  # check p50/p99 among 1M tuples
    ["bench.permission_rules", "--seconds", "10"],  # remote_json to the own check vs allow, through the proxy
]


def main() -> int:
    failed = []
    for module, *args in RUNS:
        print(f"\n=== {module} {' '.join(args)}", flush=True)
        if subprocess.run([sys.executable, "-m", module, *args], check=False).returncode != 0:  # noqa: S603
            failed.append(module)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
