"""Command line: serve | migrate up/status | config check | version | rules | identities | hash | courier |
cleanup | relation-tuple | check; one module per command group, each adding its parser with `register(commands)`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gatekeeper import __version__
from gatekeeper.cli import cleanup, config_check, courier, identities, migrate, permissions, rules, serve
from gatekeeper.cli.runtime import EXIT_CONFIG
from gatekeeper.config import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_CONFIG
    if args.global_config:
        if len(args.global_config) > 1:
            print("several -c files: gatekeeper reads one config file (give -c once)", file=sys.stderr)
            return EXIT_CONFIG
        if hasattr(args, "config") and args.config in (None, os.environ.get("GATEKEEPER_CONFIG")):
            args.config = args.global_config[0]  # the command's own -c wins
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
    parser.add_argument("--config", "-c", dest="global_config", action="append", metavar="FILE",
                        help="config file, before the command as Kratos' CLI takes it (or after, per command)")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in (serve, migrate, config_check):
        command.register(commands)
    version = commands.add_parser("version", help="print the version")
    version.set_defaults(run=lambda args: print(f"gatekeeper {__version__}"))
    for command in (rules, courier, identities, cleanup, permissions):
        command.register(commands)
    return parser
