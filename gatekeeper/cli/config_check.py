"""`gatekeeper config check FILE...`: validate config files merged in order (exit 2 with every problem,
file:line:key), the courier templates they name included; keys accepted without effect are listed as warnings."""

from __future__ import annotations

import argparse

from gatekeeper.cli.runtime import EXIT_CONFIG, add_config_option, load_checked
from gatekeeper.config import ConfigError
from gatekeeper.identity.courier.templates import templates_for


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser("config", help="configuration tools")
    actions = config.add_subparsers(metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate config files (merged in order): prints ok or every problem")
    check.add_argument("files", nargs="*", metavar="FILE", help="config files; or -c FILE as for serve")
    add_config_option(check)
    check.add_argument("--dev", action="store_true", help="validate as `serve --dev` would")
    check.set_defaults(run=_config_check)


def _config_check(args: argparse.Namespace) -> int:
    try:
        config = load_checked([*(args.config or ()), *args.files] or None, dev=args.dev)
        templates_for(config)
    except ConfigError as exc:
        print(str(exc))
        return EXIT_CONFIG
    for notice in config.notices:
        print(f"warning: {notice}")
    print("ok")
    return 0
