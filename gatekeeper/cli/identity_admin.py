"""`identities list|get|delete` (and Kratos' `list identities`, `get identity`, `delete identity`): Kratos' table
columns, `--format`/`--quiet` output and exit codes (1 when any id failed; the others are still printed)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from gatekeeper.cli.admin_target import Identities, describe, run_against
from gatekeeper.cli.output import NONE, FormatError, Row, Table, print_row, print_table
from gatekeeper.errors import GatekeeperError

HEADER = ("ID", "VERIFIED ADDRESSES", "RECOVERY ADDRESSES", "SCHEMA ID", "SCHEMA URL")
INCLUDABLE = ("oidc",)  # the credential types Kratos' `get identity --include-credentials` accepts


def columns(identity: dict[str, Any]) -> list[str]:
    """An identity's row in Kratos' identity table."""
    def values(key: str) -> str:
        return ", ".join(a["value"] for a in identity.get(key) or () if isinstance(a, dict) and a.get("value"))

    return [str(identity.get("id") or NONE), values("verifiable_addresses"), values("recovery_addresses"),
            str(identity.get("schema_id", "")), str(identity.get("schema_url", ""))]


def list_identities(args: argparse.Namespace) -> int:
    """One page (`--page-size`, from `--page-token`), then the token of the next page, as Kratos lists them."""
    if not 1 <= args.page_size <= 500:
        print(f"--page-size must be between 1 and 500, got {args.page_size}", file=sys.stderr)
        return 1

    async def work(client: Identities, *_: Any) -> int:
        page, next_token = await client.page(args.page_size, args.page_token or None)
        rows = [columns(i) for i in page]
        return _printed(print_table, args, Table(HEADER, [*rows, [""], ["NEXT PAGE TOKEN", next_token]],
                                                  {"identities": page, "next_page_token": next_token},
                                                  [r[0] for r in rows]))

    return run_against(args, work)


def get_identities(args: argparse.Namespace) -> int:
    include = tuple(args.include_credentials)
    if any(kind not in INCLUDABLE for kind in include):
        print("You have to put a valid value of credentials type to be included, try --help for details.",
              file=sys.stderr)
        return 1

    async def work(client: Identities, *_: Any) -> int:
        found, failed = [], {}
        for identity_id in args.ids:
            try:
                found.append(await client.get(identity_id, include))
            except GatekeeperError as exc:
                failed[identity_id] = describe(exc)
        if len(found) == 1:
            code = _printed(print_row, args, Row(HEADER, columns(found[0]), found[0]))
        elif found:
            rows = [columns(i) for i in found]
            code = _printed(print_table, args, Table(HEADER, rows, found, [r[0] for r in rows]))
        else:
            code = 0
        return _failures(failed) or code

    return run_against(args, work)


def delete_identities(args: argparse.Namespace) -> int:
    async def work(client: Identities, *_: Any) -> int:
        deleted, failed = [], {}
        for identity_id in args.ids:
            try:
                await client.delete(identity_id)
                deleted.append(identity_id)
            except GatekeeperError as exc:
                failed[identity_id] = describe(exc)
        if len(deleted) == 1:
            code = _printed(print_row, args, Row(("ID",), deleted, deleted[0]))
        elif deleted:
            code = _printed(print_table, args, Table(("ID",), [[i] for i in deleted], deleted, deleted))
        else:
            code = 0
        return _failures(failed) or code

    return run_against(args, work)


def _printed(printer: Callable[[argparse.Namespace, Any], None], args: argparse.Namespace, what: Row | Table) -> int:
    """Print `what`; 1 when its --format cannot be applied to it (a JSON pointer to nothing)."""
    try:
        printer(args, what)
    except FormatError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _failures(failed: dict[str, str]) -> int:
    """`id: why` on stderr for each failed id (Kratos' PrintErrors); 1 when there was any."""
    for identity_id, why in failed.items():
        print(f"{identity_id}: {why}", file=sys.stderr)
    return 1 if failed else 0
