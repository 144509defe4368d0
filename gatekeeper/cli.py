"""Command line: serve | migrate up/status | config check | version (+ command groups from each half)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from gatekeeper import __version__
from gatekeeper.config import Config, ConfigError, load_config
from gatekeeper.config.dsn import Dsn
from gatekeeper.errors import StoreError, StoreUnavailable
from gatekeeper.observe import configure_logging, held_logs
from gatekeeper.store import new_store

EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_CONFIG
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatekeeper", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gatekeeper {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run every listener (proxy, public, admin, api, metrics)")
    serve.add_argument("--config", "-c", default=os.environ.get("GATEKEEPER_CONFIG"), help="YAML config file")
    serve.add_argument("--dev", action="store_true", help="development mode: generated secrets, insecure cookies")
    serve.add_argument("--migrate", action="store_true", help="apply pending migrations before serving")
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="database migrations")
    migrate_commands = migrate.add_subparsers(metavar="ACTION", required=True)
    for action, help_text in (("up", "apply pending migrations"), ("status", "list migrations and their state")):
        sub = migrate_commands.add_parser(action, help=help_text)
        sub.add_argument("--config", "-c", default=os.environ.get("GATEKEEPER_CONFIG"))
        sub.add_argument("--dsn", help="database to migrate (overrides the config's dsn)")
        sub.set_defaults(run=_migrate, action=action)

    config = commands.add_parser("config", help="configuration tools")
    config_commands = config.add_subparsers(metavar="ACTION", required=True)
    check = config_commands.add_parser("check", help="validate a config file: prints ok or every problem")
    check.add_argument("file")
    check.add_argument("--dev", action="store_true", help="validate as `serve --dev` would")
    check.set_defaults(run=_config_check)

    version = commands.add_parser("version", help="print the version")
    version.set_defaults(run=lambda args: print(f"gatekeeper {__version__}"))

    from gatekeeper.access import cli as access_cli
    from gatekeeper.identity import cleanup
    from gatekeeper.identity import cli as identity_cli
    from gatekeeper.identity.courier import cli as courier_cli

    access_cli.register(commands)
    courier_cli.register(commands)
    identity_cli.register(commands)
    cleanup.register(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    with held_logs():  # what loading the config logs (generated --dev secrets) comes out in the configured format
        config = _load_checked(args.config, dev=args.dev)
        configure_logging(config.log)
    return _run_async(_serve_async(config, apply_migrations=args.migrate))


async def _serve_async(config: Config, *, apply_migrations: bool) -> int:
    from gatekeeper.app import App, serve

    # Catch SIGTERM/SIGINT from the start: a signal that lands while the app is being built must stop it too
    # (the runner's own SIGINT handling cancels the main task, which start-up code may swallow).
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = await App.create(config)

    def announce(urls: dict[str, str]) -> None:
        prefix = config.serve.proxy.identity_prefix
        lines = [f"  {name:<8} {url}" for name, url in urls.items()]
        print("gatekeeper is listening:\n" + "\n".join(lines)
              + f"\n  open {urls['proxy']}/ (app) and {urls['proxy']}{prefix}/ui/login (sign in)", flush=True)

    return await serve(app, apply_migrations=apply_migrations, on_ready=announce, stop=stop)


def _migrate(args: argparse.Namespace) -> int:
    if args.dsn:
        try:
            dsn = Dsn.parse(args.dsn)
        except ValueError as exc:
            print(f"invalid --dsn: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    else:
        dsn = load_config(args.config, secrets_needed=False).store_dsn
    return _run_async(_migrate_async(dsn, args.action))


async def _migrate_async(dsn: Dsn, action: str) -> int:
    from gatekeeper.store import migrate

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


def _load_checked(path: str | None, *, dev: bool) -> Config:
    """The config, with every enabled handler's global config validated too (serve and config check)."""
    from gatekeeper.access.global_config import check_global_config

    config = load_config(path, dev=dev)
    check_global_config(config)
    return config


def _config_check(args: argparse.Namespace) -> int:
    try:
        _load_checked(args.file, dev=args.dev)
    except ConfigError as exc:
        print(str(exc))
        return EXIT_CONFIG
    print("ok")
    return 0


def _run_async(coro: object) -> int:
    try:
        import uvloop

        return int(uvloop.run(coro))  # type: ignore[arg-type]
    except ImportError:
        return int(asyncio.run(coro))  # type: ignore[arg-type]


if __name__ == "__main__":
    logging.basicConfig()
    sys.exit(main())
