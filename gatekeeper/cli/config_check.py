"""`gatekeeper config check FILE`: validate a config file (exit 2 with every problem, file:line:key), the
courier templates it names included."""

from __future__ import annotations

import argparse

from gatekeeper.cli.runtime import EXIT_CONFIG, load_checked
from gatekeeper.config import ConfigError
from gatekeeper.identity.courier.templates import templates_for


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser("config", help="configuration tools")
    actions = config.add_subparsers(metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate a config file: prints ok or every problem")
    check.add_argument("file")
    check.add_argument("--dev", action="store_true", help="validate as `serve --dev` would")
    check.set_defaults(run=_config_check)


def _config_check(args: argparse.Namespace) -> int:
    try:
        templates_for(load_checked(args.file, dev=args.dev))
    except ConfigError as exc:
        print(str(exc))
        return EXIT_CONFIG
    print("ok")
    return 0
