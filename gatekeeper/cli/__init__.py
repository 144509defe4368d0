"""Command line: serve | migrate | config check | version | rules | courier | identities (also spelled as Kratos
does: import identities, list identities, get identity, delete identity) | hash | hashers argon2 | lint lint
(Jsonnet) | validate identity | credentials generate | health | cleanup | relation-tuple | check | expand |
namespace validate | status; one module per command group, each adding its parser with `register(commands)`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gatekeeper import __version__
from gatekeeper.cli import (
    cleanup,
    config_check,
    courier,
    credentials,
    expand,
    hashers,
    health,
    identities,
    jsonnet,
    migrate,
    namespace,
    permissions,
    rules,
    serve,
    status,
    validate_identity,
)
from gatekeeper.cli.runtime import EXIT_CONFIG, config_paths
from gatekeeper.config import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_CONFIG
    if hasattr(args, "config"):
        args.config = config_paths(args.global_config, args.config)
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
    for command in (rules, courier, identities, validate_identity, hashers, jsonnet, credentials, health, cleanup,
                    permissions, expand, namespace, status):
        command.register(commands)
    return parser
