"""`gatekeeper identities import|list|get|delete` and Kratos' spellings of them (`import identities`,
`list|ls identities`, `get identity`, `delete identity`), against a running admin API (`--endpoint/-e`,
`$KRATOS_ADMIN_URL`) or the config's database; and `gatekeeper hash <algorithm>` (a password hash in one of the
import formats, for tests and migrations)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
import tempfile
from pathlib import Path
from typing import Any

from gatekeeper.cli.admin_target import add_target_flags, run_against
from gatekeeper.cli.identity_admin import delete_identities, get_identities, list_identities
from gatekeeper.cli.output import add_format_flags
from gatekeeper.identity import hashformats
from gatekeeper.identity.importer import AdminApiTarget, Importer, ServiceTarget, count_items, read_items


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `identities import|list|get|delete`, Kratos' spellings (`import identities`, `list|ls identities`,
    `get identity`, `delete identity`) and `hash`."""
    identities = commands.add_parser("identities", help="manage identities (import, list, get, delete)")
    actions = identities.add_subparsers(metavar="ACTION", required=True)
    for verb, build in _LEAVES.items():
        build(actions, verb, inherit=False)
    for verb, noun, aliases in (("import", "identities", []), ("list", "identities", ["ls"]),
                                ("get", "identity", []), ("delete", "identity", [])):
        group = commands.add_parser(verb, aliases=aliases, help=f"Kratos' spelling: {verb} {noun}")
        add_target_flags(group)
        if verb != "import":
            add_format_flags(group)
        _LEAVES[verb](group.add_subparsers(metavar="RESOURCE", required=True), noun, inherit=True)

    hasher = commands.add_parser("hash", help="hash a password in an import format (reads it from stdin)")
    hasher.add_argument("algorithm", choices=hashformats.ALGORITHMS)
    hasher.add_argument("--password", help="the password (default: read from stdin or prompt)")
    hasher.set_defaults(run=_hash)


def _leaf(actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str, *,
          inherit: bool, formats: bool = True) -> argparse.ArgumentParser:
    """A command with the target (and output) flags; under a Kratos verb group they may also come before the
    resource (`get -e URL identity ID`), so here they default to what the group parsed."""
    sub = actions.add_parser(name, help=help_text)
    add_target_flags(sub, inherit=inherit)
    if formats:
        add_format_flags(sub, inherit=inherit)
    return sub


def _import_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *, inherit: bool) -> None:
    sub = _leaf(actions, name, "import identities from JSON files (an object, an array or JSON lines each), or "
                               "from stdin without files", inherit=inherit, formats=False)
    sub.add_argument("files", type=Path, nargs="*")
    sub.set_defaults(run=_import)


def _list_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *, inherit: bool) -> None:
    sub = _leaf(actions, name, "list one page of identities (Kratos' columns) and the next page's token",
                inherit=inherit)
    sub.add_argument("--page-size", type=int, default=100, help="maximum number of items to return")
    sub.add_argument("--page-token", default="", help="page token acquired from a previous response")
    sub.add_argument("--consistency", choices=("strong", "eventual"), default="eventual",
                     help="accepted for Kratos' CLI; reads here are always strongly consistent")
    sub.set_defaults(run=list_identities)


def _get_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *, inherit: bool) -> None:
    sub = _leaf(actions, name, "get identities by id", inherit=inherit)
    sub.add_argument("ids", nargs="+")
    sub.add_argument("--include-credentials", "-i", action="append", default=[], metavar="TYPE",
                     help='include third party tokens (only "oidc" supported)')
    sub.set_defaults(run=get_identities)


def _delete_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str, *, inherit: bool) -> None:
    sub = _leaf(actions, name, "delete identities by id (and end their sessions)", inherit=inherit)
    sub.add_argument("ids", nargs="+")
    sub.set_defaults(run=delete_identities)


_LEAVES = {"import": _import_parser, "list": _list_parser, "get": _get_parser, "delete": _delete_parser}


def _hash(args: argparse.Namespace) -> int:
    password = args.password
    if password is None:
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
    print(hashformats.make(args.algorithm, password))
    return 0


def _import(args: argparse.Namespace) -> int:
    """Each file in turn (a summary line each); no files: what stdin holds, as Kratos' `identities import` reads."""
    for path in args.files:
        if not path.is_file():
            print(f"error: {path} is not a readable file", file=sys.stderr)
            return 2
    with contextlib.ExitStack() as stack:
        paths = args.files or [_spooled_stdin(stack)]

        async def work(client: Any, service: Any, http: Any) -> int:
            target = ServiceTarget(service) if service is not None else AdminApiTarget(http, args.admin_url)
            failed = 0
            for path in paths:
                total = count_items(path)
                items: Any = read_items(path)
                if total is None:
                    items = list(items)
                    total = len(items)
                summary = await Importer(target, sys.stderr, total=total).run(iter(items))
                name = "stdin" if not args.files else str(path)
                print(f"{name}: {summary.imported} imported, {summary.skipped} skipped (already present), "
                      f"{summary.failed} failed of {summary.total}")
                failed += summary.failed
            return 1 if failed else 0

        return run_against(args, work)


def _spooled_stdin(stack: contextlib.ExitStack) -> Path:
    """stdin copied to a temporary file (the importer reads its input twice: to count, then to import)."""
    spool = stack.enter_context(tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".json"))
    for chunk in iter(lambda: sys.stdin.read(1 << 16), ""):
        spool.write(chunk)
    spool.flush()
    return Path(spool.name)
