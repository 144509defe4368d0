"""Oathkeeper's `health --endpoint URL alive|ready`: ask a running gatekeeper (or Oathkeeper) whether it is alive or
ready, print its answer as Oathkeeper's CLI does, exit 1 when it is not."""

from __future__ import annotations

import argparse

from gatekeeper.cli.rules_remote import add_endpoint_flag, fetch_and_print


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = commands.add_parser("health", help="check a running deployment: health -e URL alive|ready")
    add_endpoint_flag(health, inherit=False)
    checks = health.add_subparsers(metavar="CHECK", required=True)
    for check in ("alive", "ready"):
        parser = checks.add_parser(check, help=f"exit 0 when the instance at --endpoint is {check}")
        add_endpoint_flag(parser, inherit=True)
        parser.set_defaults(run=lambda args, check=check: fetch_and_print(args.endpoint, f"/health/{check}", {},
                                                                           ""))
