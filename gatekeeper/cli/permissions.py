"""`gatekeeper relation-tuple create|get|delete|delete-all|parse` and `gatekeeper check SUBJECT RELATION NAMESPACE
OBJECT`, as Keto's CLI, JSON in and out, on the config's database (its namespaces and limits)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from gatekeeper.cli.runtime import NotMigrated, add_config_option, migrated_store, run_async
from gatekeeper.cli.tuple_text import register_parse
from gatekeeper.config import load_config
from gatekeeper.errors import GatekeeperError, StoreUnavailable
from gatekeeper.http.keto.services import PermissionServices
from gatekeeper.permissions.model import RelationQuery, RelationTuple, Subject, SubjectSet, tuple_from_json
from gatekeeper.permissions.pagination import page_size
from gatekeeper.server.permissions_wiring import TupleChangeBroadcast, build_permissions

BATCH = 500  # tuples per transaction when creating or deleting many
_SUBJECT_SET = re.compile(r"^([^:#]+):([^#]+)#(.*)$")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `relation-tuple` group and `check`."""
    group = commands.add_parser("relation-tuple", help="manage relation tuples (create, get, delete[-all], parse)")
    actions = group.add_subparsers(metavar="ACTION", required=True)

    def config(sub: argparse.ArgumentParser) -> None:
        add_config_option(sub)

    for name, run, text in (("create", _create, "create the tuples in JSON files"),
                            ("delete", _delete, "delete the tuples in JSON files")):
        sub = actions.add_parser(name, help=f"{text} (a tuple, an array or JSON lines each; '-' or none: stdin)")
        sub.add_argument("files", nargs="*", metavar="FILE")
        config(sub)
        sub.set_defaults(run=run)
    get = actions.add_parser("get", help="print the tuples a query matches, as Keto's list response")
    _query_flags(get)
    get.add_argument("--page-size", default=None)
    get.add_argument("--page-token", default=None)
    config(get)
    get.set_defaults(run=_get)
    delete_all = actions.add_parser("delete-all", help="delete ALL the tuples the query matches (--namespace is "
                                                       "required); without --force: print the first 100 instead")
    _query_flags(delete_all)
    delete_all.add_argument("--force", action="store_true", help="delete them (the operation is not reversible)")
    config(delete_all)
    delete_all.set_defaults(run=_delete_all)
    register_parse(actions)

    check = commands.add_parser("check", help="is SUBJECT in RELATION of NAMESPACE:OBJECT? prints {\"allowed\": ...}")
    check.add_argument("subject", help="a subject id, or a subject set NS:OBJECT#RELATION")
    check.add_argument("relation")
    check.add_argument("namespace")
    check.add_argument("object")
    check.add_argument("--max-depth", type=int, default=0)
    config(check)
    check.set_defaults(run=_check)


def _query_flags(parser: argparse.ArgumentParser) -> None:
    for flag in ("namespace", "object", "relation", "subject-id"):
        parser.add_argument(f"--{flag}")
    parser.add_argument("--subject-set", metavar="NS:OBJECT#RELATION")


def parse_subject(text: str) -> Subject:
    """Keto's CLI spelling: `ns:object#relation` is a subject set, anything else a subject id."""
    match = _SUBJECT_SET.match(text)
    return SubjectSet(*match.groups()) if match else text


def read_tuples(files: list[str], stdin: TextIO) -> Iterator[RelationTuple]:
    """Tuples from each file (or stdin): one JSON tuple, a JSON array of them, or one per line."""
    for name in files or ["-"]:
        text = stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        try:
            data: Any = json.loads(text)
        except ValueError:
            try:
                data = [json.loads(line) for line in text.splitlines() if line.strip()]
            except ValueError as exc:
                raise GatekeeperError(f"{name}: not JSON: {exc}") from None
        for item in data if isinstance(data, list) else [data]:
            yield tuple_from_json(item)


def run_permissions(args: argparse.Namespace, work: Callable[[PermissionServices], Awaitable[int]]) -> int:
    """`work` on the permission services of the config's database; 1 with the reason on stderr when it fails."""
    async def main() -> int:
        try:
            config = load_config(args.config, secrets_needed=False)
            async with migrated_store(config.store_dsn) as store:
                changes = TupleChangeBroadcast.for_config(config, store)  # running replicas drop cached answers
                return await work(build_permissions(config, store, changes=changes))
        except StoreUnavailable as exc:
            print(f"error: cannot reach the database: {exc.reason}", file=sys.stderr)
        except NotMigrated as exc:
            print(f"error: {exc}", file=sys.stderr)
        except GatekeeperError as exc:
            print(f"error: {exc.message}" + (f": {exc.reason}" if exc.reason else ""), file=sys.stderr)
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
        return 1

    return run_async(main())


def _write(args: argparse.Namespace, *, delete: bool) -> int:
    async def work(services: PermissionServices) -> int:
        tuples = list(read_tuples(args.files, sys.stdin))
        for start in range(0, len(tuples), BATCH):
            batch = tuples[start:start + BATCH]
            await services.tuples.transact([] if delete else batch, batch if delete else [])
            if len(tuples) > BATCH:
                print(f"{'deleted' if delete else 'created'} {start + len(batch)}/{len(tuples)}", file=sys.stderr)
        print(json.dumps([t.as_json() for t in tuples], indent=2))
        return 0

    return run_permissions(args, work)


def _create(args: argparse.Namespace) -> int:
    return _write(args, delete=False)


def _delete(args: argparse.Namespace) -> int:
    return _write(args, delete=True)


def _query(args: argparse.Namespace) -> RelationQuery:
    subject: Subject | None = parse_subject(args.subject_set) if args.subject_set else args.subject_id
    if isinstance(subject, str) and args.subject_set:
        raise GatekeeperError("--subject-set must look like NS:OBJECT#RELATION")
    return RelationQuery(args.namespace, args.object, args.relation, subject)


async def _print_page(services: PermissionServices, query: RelationQuery, size: int, token: str | None) -> None:
    page = await services.tuples.list(query, size=size, token=token)
    print(json.dumps({"relation_tuples": [t.as_json() for t in page.tuples],
                      "next_page_token": page.next_page_token}, indent=2))


def _get(args: argparse.Namespace) -> int:
    async def work(services: PermissionServices) -> int:
        await _print_page(services, _query(args), page_size(args.page_size), args.page_token)
        return 0

    return run_permissions(args, work)


def _delete_all(args: argparse.Namespace) -> int:
    """Keto's `delete-all`: without --force a warning and the first 100 tuples it would delete (exit 0)."""
    async def work(services: PermissionServices) -> int:
        query = _query(args)
        if not args.force:
            print("WARNING: This operation is not reversible. Please use the `--force` flag to proceed.\n"
                  "These tuples would be deleted:\n")
            await _print_page(services, query, 100, None)
            return 0
        await services.tuples.delete(query)
        return 0

    return run_permissions(args, work)


def _check(args: argparse.Namespace) -> int:
    async def work(services: PermissionServices) -> int:
        asked = RelationTuple(args.namespace, args.object, args.relation, parse_subject(args.subject))
        print(json.dumps({"allowed": await services.checks.check(asked, args.max_depth)}))
        return 0

    return run_permissions(args, work)
