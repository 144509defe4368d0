"""`gatekeeper namespace validate FILE... [-c CONFIG]`, as Keto's: check Ory Permission Language files (and Keto's
legacy namespace files: .json, .yaml, .yml, .toml) and the namespaces a config names; every problem as
`file:line:column: message` on stderr and exit 1, else Keto's "Congrats, all files are valid!"."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from gatekeeper.cli.runtime import add_config_option
from gatekeeper.config import load_config
from gatekeeper.permissions.namespaces import (
    PARSERS,
    NamespaceFileError,
    NamespaceSet,
    load_namespaces,
    read_namespace_files,
    read_opl_file,
)

VALID = "Congrats, all files are valid!"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `namespace` group and its `validate` (also spelled `validate-legacy`, as Keto)."""
    group = commands.add_parser("namespace", help="read and check namespaces (validate)")
    validate = group.add_subparsers(metavar="ACTION", required=True).add_parser(
        "validate", aliases=["validate-legacy"],
        help="check OPL files and legacy namespace files (and the namespaces of -c CONFIG); exit 1 on a problem")
    validate.add_argument("files", nargs="*", metavar="FILE")
    add_config_option(validate, "a config file whose namespaces are checked too")
    validate.set_defaults(run=_validate)


def _validate(args: argparse.Namespace) -> int:
    """Every file is checked (Keto stops at the first bad one); the exit code is Keto's."""
    problems = 0
    loads: list[Callable[[], NamespaceSet]] = [partial(_from_file, name) for name in args.files]
    if args.config:
        loads.insert(0, lambda: load_namespaces(load_config(args.config, secrets_needed=False).namespaces))
    for load in loads:
        try:
            load()
        except NamespaceFileError as exc:
            print(exc, file=sys.stderr)
            problems += 1
    if problems:
        return 1
    print(VALID)
    return 0


def _from_file(name: str) -> NamespaceSet:
    return read_namespace_files(name) if Path(name).suffix in PARSERS else read_opl_file(name)
