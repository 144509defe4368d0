"""`gatekeeper identities import|list|get|delete` (against the store, or a running admin API with --admin-url)
and `gatekeeper hash <algorithm>` (a password hash in one of the import formats, for tests and migrations)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from gatekeeper.cli.runtime import NotMigrated, migrated_store, run_async
from gatekeeper.config import load_config
from gatekeeper.errors import GatekeeperError, StoreUnavailable
from gatekeeper.identity import hashformats
from gatekeeper.identity.admin import AdminService, Page
from gatekeeper.identity.importer import AdminApiTarget, Importer, ServiceTarget, count_items, read_items
from gatekeeper.observe import Metrics
from gatekeeper.observe.tracing import NoTracer
from gatekeeper.server.identity_wiring import build_context


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `identities` and `hash` command groups."""
    identities = commands.add_parser("identities", help="manage identities (import, list, get, delete)")
    actions = identities.add_subparsers(metavar="ACTION", required=True)

    def target(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", "-c", default=os.environ.get("GATEKEEPER_CONFIG"), help="YAML config file")
        sub.add_argument("--admin-url", "--endpoint", "-e", metavar="URL", default=os.environ.get("KRATOS_ADMIN_URL"),
                         help="a running admin API (http://host:4434) instead of the config's database "
                              "(default: $KRATOS_ADMIN_URL)")

    imp = actions.add_parser("import", help="import identities from JSON files (an object, an array or JSON lines "
                                            "each), or from stdin without files")
    imp.add_argument("files", type=Path, nargs="*")
    target(imp)
    imp.set_defaults(run=_import)
    lst = actions.add_parser("list", help="list identities (id, state, identifiers)")
    lst.add_argument("--page-size", type=int, default=250)
    lst.add_argument("--json", action="store_true", help="one identity JSON per line")
    target(lst)
    lst.set_defaults(run=_list)
    get = actions.add_parser("get", help="print identities as JSON")
    get.add_argument("ids", nargs="+")
    target(get)
    get.set_defaults(run=_get)
    delete = actions.add_parser("delete", help="delete identities (and end their sessions)")
    delete.add_argument("ids", nargs="+")
    target(delete)
    delete.set_defaults(run=_delete)

    hasher = commands.add_parser("hash", help="hash a password in an import format (reads it from stdin)")
    hasher.add_argument("algorithm", choices=hashformats.ALGORITHMS)
    hasher.add_argument("--password", help="the password (default: read from stdin or prompt)")
    hasher.set_defaults(run=_hash)


def _hash(args: argparse.Namespace) -> int:
    password = args.password
    if password is None:
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
    print(hashformats.make(args.algorithm, password))
    return 0


class _Remote:
    """The admin API over HTTP, answering like AdminService (bodies as dicts)."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url = http, url.rstrip("/")

    async def page(self, size: int, token: str | None) -> list[dict[str, Any]]:
        params = {"page_size": str(size), **({"page_token": token} if token else {})}
        return list(self._ok(await self.http.get(f"{self.url}/admin/identities", params=params)))

    async def get(self, identity_id: str) -> dict[str, Any]:
        return dict(self._ok(await self.http.get(f"{self.url}/admin/identities/{identity_id}")))

    async def delete(self, identity_id: str) -> None:
        self._ok(await self.http.delete(f"{self.url}/admin/identities/{identity_id}"))

    @staticmethod
    def _ok(resp: Any) -> Any:
        if resp.status_code >= 400:
            try:
                err = resp.json()["error"]
                reason = err.get("reason") or err.get("message")
            except (ValueError, KeyError, TypeError):
                reason = resp.text[:200]
            raise GatekeeperError(f"HTTP {resp.status_code}: {reason}")
        return resp.json() if resp.status_code != 204 else None


class _Local:
    """The store through the admin service, answering like the admin API."""

    def __init__(self, service: AdminService) -> None:
        self.service = service

    async def page(self, size: int, token: str | None) -> list[dict[str, Any]]:
        return [self.service.to_json(i) for i in await self.service.list_identities(Page(size, token))]

    async def get(self, identity_id: str) -> dict[str, Any]:
        return dict(self.service.to_json(await self.service.get(identity_id)))

    async def delete(self, identity_id: str) -> None:
        await self.service.delete(identity_id)


@contextlib.asynccontextmanager
async def _connected(args: argparse.Namespace) -> AsyncIterator[tuple[AdminService | None, httpx.AsyncClient]]:
    """(the admin service on the config's database, or None for a remote admin API; an HTTP client)."""
    async with httpx.AsyncClient(timeout=120) as http:
        if args.admin_url:
            yield None, http
            return
        config = load_config(args.config, secrets_needed=False)
        async with migrated_store(config.store_dsn) as store:
            yield AdminService(await build_context(config, store, http, Metrics(), NoTracer())), http


def _run(args: argparse.Namespace, work: Any) -> int:
    async def main() -> int:
        try:
            async with _connected(args) as (service, http):
                client = _Local(service) if service is not None else _Remote(http, args.admin_url)
                return int(await work(client, service, http))
        except StoreUnavailable as exc:
            print(f"cannot reach the database {exc.reason}", file=sys.stderr)
        except NotMigrated as exc:
            print(f"error: {exc}", file=sys.stderr)
        except GatekeeperError as exc:
            print(f"error: {exc.reason or exc.message}", file=sys.stderr)
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
        return 1

    return run_async(main())


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

        return _run(args, work)


def _spooled_stdin(stack: contextlib.ExitStack) -> Path:
    """stdin copied to a temporary file (the importer reads its input twice: to count, then to import)."""
    spool = stack.enter_context(tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".json"))
    for chunk in iter(lambda: sys.stdin.read(1 << 16), ""):
        spool.write(chunk)
    spool.flush()
    return Path(spool.name)


def _list(args: argparse.Namespace) -> int:
    async def work(client: Any, service: Any, http: Any) -> int:
        token = None
        while True:
            page = await client.page(args.page_size, token)
            for ident in page:
                if args.json:
                    print(json.dumps(ident, separators=(",", ":")))
                else:
                    idents = ",".join(i for c in (ident.get("credentials") or {}).values()
                                      for i in c.get("identifiers", []))
                    print(f"{ident['id']}\t{ident.get('state', '')}\t{idents}")
            if len(page) < args.page_size:
                return 0
            token = page[-1]["id"]

    return _run(args, work)


def _get(args: argparse.Namespace) -> int:
    async def work(client: Any, service: Any, http: Any) -> int:
        for identity_id in args.ids:
            print(json.dumps(await client.get(identity_id), indent=2))
        return 0

    return _run(args, work)


def _delete(args: argparse.Namespace) -> int:
    async def work(client: Any, service: Any, http: Any) -> int:
        for identity_id in args.ids:
            await client.delete(identity_id)
            print(f"deleted {identity_id}")
        return 0

    return _run(args, work)
