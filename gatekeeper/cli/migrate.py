"""`gatekeeper migrate up|status`: apply or list the database migrations."""

from __future__ import annotations

import argparse
import os
import sys

from gatekeeper.cli.runtime import EXIT_CONFIG, run_async
from gatekeeper.config import load_config
from gatekeeper.config.dsn import Dsn
from gatekeeper.errors import StoreError, StoreUnavailable
from gatekeeper.store import migrate, new_store


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("migrate", help="database migrations")
    actions = command.add_subparsers(metavar="ACTION", required=True)
    for action, help_text in (("up", "apply pending migrations"), ("status", "list migrations and their state")):
        sub = actions.add_parser(action, help=help_text)
        sub.add_argument("--config", "-c", default=os.environ.get("GATEKEEPER_CONFIG"))
        sub.add_argument("--dsn", help="database to migrate (overrides the config's dsn)")
        sub.set_defaults(run=_migrate, action=action)


def _migrate(args: argparse.Namespace) -> int:
    if args.dsn:
        try:
            dsn = Dsn.parse(args.dsn)
        except ValueError as exc:
            print(f"invalid --dsn: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    else:
        dsn = load_config(args.config, secrets_needed=False).store_dsn
    return run_async(_migrate_async(dsn, args.action))


async def _migrate_async(dsn: Dsn, action: str) -> int:
    store = new_store(dsn)
    try:
        await store.connect()
        if action == "up":
            applied = await store.migrate()
            for m in applied:
                print(f"applied {m.version:04d}_{m.name}")
            print(f"{len(applied)} migration(s) applied; database is up to date")
        else:
            for state in await migrate.status(store.db):
                when = state.applied_at.isoformat() if state.applied_at else "pending"
                print(f"{state.migration.version:04d}_{state.migration.name:<30} {when}")
        return 0
    except StoreUnavailable as exc:
        print(f"cannot reach the database {exc.reason}", file=sys.stderr)  # the reason starts with the masked DSN
        return 1
    except StoreError as exc:  # a migration the database refused: it was rolled back
        print(f"migrate {action} failed on {dsn.masked()}: {exc.reason}", file=sys.stderr)
        return 1
    finally:
        await store.close()
