"""`gatekeeper validate identity [FILE...]`, as Kratos': check identity import files (an identity or an array of
them each; stdin without files) against Kratos' `createIdentityBody` (no other keys) and then against the identity
schema each names (`schema_id`), from the config (`-c`) or a running API (`--endpoint/-e`, `$KRATOS_ADMIN_URL`:
its `GET /schemas/{id}`, which gatekeeper serves on the public listener and Kratos on both). Problems on stderr as
Kratos prints them, exit 1; else "All identity files are valid."."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from jsonschema import FormatChecker

from gatekeeper.cli.admin_target import add_target_flags
from gatekeeper.cli.output import add_format_flags
from gatekeeper.cli.runtime import run_async
from gatekeeper.cli.schema_errors import print_errors
from gatekeeper.config import load_config
from gatekeeper.http.schemas import COMPONENTS
from gatekeeper.identity.schemas import IdentitySchema, SchemaError, SchemaRegistry, compile_schema

VALID = "All identity files are valid."
BODY = jsonschema.Draft7Validator({**COMPONENTS["CreateIdentityBody"], "additionalProperties": False},
                                  format_checker=FormatChecker())


class Invalid(Exception):
    """A file that stops the command (unreadable, no schema_id, a schema that cannot be had): Kratos' message."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `validate` group and its `identity`."""
    group = commands.add_parser("validate", help="validate resources (Kratos' validate identity FILES)")
    add_target_flags(group)
    add_format_flags(group)
    identity = group.add_subparsers(metavar="RESOURCE", required=True).add_parser(
        "identity", help="check identity import files (or stdin) against the API's body and their identity schema")
    identity.add_argument("files", nargs="*", metavar="FILE")
    add_target_flags(identity, inherit=True)
    add_format_flags(identity, inherit=True)
    identity.set_defaults(run=_validate)


def read_identities(files: list[str]) -> Iterator[tuple[str, Any]]:
    """(`file[i]` or `STD_IN[i]`, the decoded identity) for each identity of each file; an array holds several."""
    for name in files or ["-"]:
        label = "STD_IN" if name == "-" else name
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise Invalid(f"{label}: Could not open identity file: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise Invalid(f"{label}[0]: not valid\n{exc}") from None
        for i, item in enumerate(data if isinstance(data, list) else [data]):
            yield f"{label}[{i}]", item


class Schemas:
    """The identity schemas by id: the config's, or those a running API serves (each fetched once)."""

    def __init__(self, http: httpx.AsyncClient, endpoint: str | None, registry: SchemaRegistry | None) -> None:
        self.http, self.endpoint, self.registry = http, endpoint, registry
        self.fetched: dict[str, IdentitySchema] = {}

    async def get(self, src: str, schema_id: str) -> IdentitySchema:
        if self.registry is not None:
            found = self.registry.get(schema_id)
            if found is None:
                raise Invalid(f'{src}: Could not fetch schema with ID "{schema_id}": the config has no such schema')
            return found
        if schema_id not in self.fetched:
            url = f"{str(self.endpoint).rstrip('/')}/schemas/{schema_id}"
            try:
                resp = await self.http.get(url)
                resp.raise_for_status()
                self.fetched[schema_id] = compile_schema(schema_id, url, resp.json())
            except (httpx.HTTPError, ValueError, SchemaError) as exc:
                raise Invalid(f'{src}: Could not fetch schema with ID "{schema_id}": {exc}') from None
        return self.fetched[schema_id]


async def check(identities: Iterator[tuple[str, Any]], schemas: Schemas) -> bool:
    """True when every identity is valid; each one that is not is named on stderr with its problems."""
    valid = True
    for src, identity in identities:
        valid = _report(src, BODY, identity) and valid
        schema_id = identity.get("schema_id") if isinstance(identity, dict) else None
        if not isinstance(schema_id, str):
            raise Invalid(f'{src}: Expected key "schema_id" to be defined in identity file')
        valid = _report(src, (await schemas.get(src, schema_id)).validator, identity) and valid
    return valid


def _report(src: str, validator: Any, identity: Any) -> bool:
    errors = sorted(validator.iter_errors(identity), key=lambda e: list(e.absolute_path))
    if errors:
        print(f"{src}: not valid", file=sys.stderr)
        print_errors(errors, sys.stderr)
    return not errors


def _validate(args: argparse.Namespace) -> int:
    async def main() -> int:
        async with httpx.AsyncClient(timeout=30) as http:
            registry = None
            if not args.admin_url:
                registry = await SchemaRegistry.load(load_config(args.config, secrets_needed=False).identity, http)
            return 0 if await check(read_identities(args.files), Schemas(http, args.admin_url, registry)) else 1

    try:
        code = run_async(main())
    except (Invalid, SchemaError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if code == 0:
        print(VALID)
    return code
