"""`gatekeeper migrate up|status`: apply or list the database migrations; also Kratos' spelling,
`migrate sql [up|status] [DSN] [-e] [--yes]`."""

from __future__ import annotations

import argparse
import os
import sys

from gatekeeper.cli.runtime import EXIT_CONFIG, add_config_option, run_async
from gatekeeper.config import load_config
from gatekeeper.config.dsn import Dsn
from gatekeeper.errors import StoreError, StoreUnavailable
from gatekeeper.store import migrate, new_store


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("migrate", help="database migrations")
    actions = command.add_subparsers(metavar="ACTION", required=True)
    for action, help_text in (("up", "apply pending migrations"), ("status", "list migrations and their state")):
        sub = actions.add_parser(action, help=help_text)
        add_config_option(sub)
        sub.add_argument("--dsn", help="database to migrate (overrides the config's dsn)")
        sub.set_defaults(run=lambda args: _migrate(args.dsn, args.config, args.action), action=action)
    kratos = actions.add_parser("sql", help="Kratos' spelling: migrate sql [up|status] [DSN] [-e] [--yes]")
    kratos.add_argument("words", nargs="*", metavar="[up|status] [DSN]",
                        help="the action (default up) and the database (default: -e, else the config's dsn)")
    add_config_option(kratos)
    kratos.add_argument("--read-from-env", "-e", action="store_true", help="take the database from $DSN")
    kratos.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    kratos.set_defaults(run=_migrate_sql)


def _migrate_sql(args: argparse.Namespace) -> int:
    """Kratos' `migrate sql`: as `migrate up|status`; without --yes, `up` asks first (no answer: aborted)."""
    words = list(args.words)
    action = words.pop(0) if words and words[0] in ("up", "status") else "up"
    if len(words) > 1:
        print(f"migrate sql: unexpected arguments {' '.join(words[1:])!r}", file=sys.stderr)
        return EXIT_CONFIG
    dsn = words[0] if words else os.environ.get("DSN", "") if args.read_from_env else ""
    if args.read_from_env and not dsn:
        print("migrate sql -e: the environment variable DSN is not set", file=sys.stderr)
        return EXIT_CONFIG
    if action == "up" and not args.yes and not _confirmed():
        print("Migration aborted.")
        return 0
    return _migrate(dsn or None, args.config, action)


def _confirmed() -> bool:
    print("Do you wish to execute this migration plan? [y/n]: ", end="", flush=True)
    for line in sys.stdin:
        answer = line.strip().lower()
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False
        print("Please answer y or n: ", end="", flush=True)
    print()
    return False


def _migrate(dsn_text: str | None, config: str | None, action: str) -> int:
    """`action` on the database `dsn_text` names, else on the config's."""
    if dsn_text:
        try:
            dsn = Dsn.parse(dsn_text)
        except ValueError as exc:
            print(f"invalid --dsn: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    else:
        dsn = load_config(config, secrets_needed=False).store_dsn
    return run_async(_migrate_async(dsn, action))


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
