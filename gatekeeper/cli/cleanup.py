"""`gatekeeper cleanup`: one housekeeping run, for a CronJob (Kratos' `kratos cleanup sql`)."""

from __future__ import annotations

import argparse
import sys

from gatekeeper.cli.runtime import NotMigrated, add_config_option, migrated_store, run_async
from gatekeeper.config import Config, load_config
from gatekeeper.config.types import Duration
from gatekeeper.errors import StoreError, StoreUnavailable
from gatekeeper.identity.cleanup import Cleanup
from gatekeeper.observe import configure_logging


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cleanup = commands.add_parser("cleanup", help="delete stale flows, sessions, counters, events and e-mails once")
    add_config_option(cleanup)
    cleanup.add_argument("--older-than", type=_duration, metavar="DURATION",
                         help="keep rows this much longer, e.g. 24h (default: database.cleanup.older_than)")
    cleanup.set_defaults(run=_cli)


def _duration(text: str) -> Duration:
    try:
        return Duration.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cli(args: argparse.Namespace) -> int:
    config = load_config(args.config, secrets_needed=False)
    configure_logging(config.log)
    return run_async(run_once(config, older_than=args.older_than))


async def run_once(config: Config, *, older_than: float | None = None) -> int:
    """Clean up once and print what went; 1 when the database is unreachable or not migrated."""
    try:
        async with migrated_store(config.store_dsn) as store:
            deleted = await Cleanup.from_config(store, config, older_than=older_than).run_once()
    except NotMigrated as exc:
        print(exc, file=sys.stderr)
        return 1
    except StoreUnavailable as exc:
        print(f"cannot reach the database {exc.reason}", file=sys.stderr)  # the reason starts with the masked DSN
        return 1
    except StoreError as exc:
        print(f"clean-up failed: {exc.reason}", file=sys.stderr)
        return 1
    for table, count in deleted.items():
        print(f"{table:<18} {count} deleted")
    return 0
