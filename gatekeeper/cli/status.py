"""`gatekeeper status [--endpoint read|write] [--block]`, as Keto's: ask a running gatekeeper (or Keto's HTTP port)
whether its read or write API serves, and print `SERVING` or `NOT_SERVING` (exit 0 either way, as Keto); exit 1 when
it cannot be reached. `--block` waits until it serves.

Keto asks its gRPC health service; gatekeeper serves Keto's APIs over HTTP only, so this asks `/health/ready` of the
listener the API is on: `--read-remote` (default `$KETO_READ_REMOTE`, else the api listener 127.0.0.1:4456) or
`--write-remote` (`$KETO_WRITE_REMOTE`, else the admin listener 127.0.0.1:4434), as `host:port` or a URL."""

from __future__ import annotations

import argparse
import os
import sys
import time

import httpx

REMOTES = {"read": ("read-remote", "KETO_READ_REMOTE", "127.0.0.1:4456"),
           "write": ("write-remote", "KETO_WRITE_REMOTE", "127.0.0.1:4434")}
RETRY_SECONDS = 1.0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status`."""
    status = commands.add_parser("status", help="print SERVING or NOT_SERVING for a running instance's read or "
                                                "write API (Keto's status)")
    for name, (flag, env, default) in REMOTES.items():
        status.add_argument(f"--{flag}", metavar="HOST:PORT",
                            help=f"where the {name} API listens (default: ${env}, else {default})")
    status.add_argument("--endpoint", choices=tuple(REMOTES), default="read", help="which API to ask (default: read)")
    status.add_argument("--block", action="store_true", help="wait until the API is reachable and serving")
    status.add_argument("--quiet", "-q", action="store_true", help="no progress messages while blocking")
    status.set_defaults(run=_status)


def remote(args: argparse.Namespace) -> str:
    """The address of the API `--endpoint` names: its flag, its environment variable or (with Keto's warning on
    stderr) the default."""
    flag, env, default = REMOTES[args.endpoint]
    given = getattr(args, flag.replace("-", "_")) or os.environ.get(env)
    if given:
        return str(given)
    print(f"neither flag --{flag} nor env var {env} are set, falling back to {default}", file=sys.stderr)
    return default


def _status(args: argparse.Namespace) -> int:
    address = remote(args)
    url = (address if "://" in address else f"http://{address}").rstrip("/") + "/health/ready"
    while True:
        try:
            serving = httpx.get(url, timeout=10).status_code == 200
        except httpx.HTTPError as exc:
            if not args.block:
                print(f"cannot reach {address}: {exc or type(exc).__name__}", file=sys.stderr)
                return 1
            if not args.quiet:
                print("Context deadline exceeded, going to retry.")
        else:
            if serving or not args.block:
                print("SERVING" if serving else "NOT_SERVING")
                return 0
            if not args.quiet:
                print("Got the status NOT_SERVING, waiting until SERVING.")
        time.sleep(RETRY_SECONDS)
