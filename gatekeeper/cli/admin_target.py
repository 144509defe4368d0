"""Where the identity commands act: a running admin API (`--endpoint/-e`, `$KRATOS_ADMIN_URL`, as Kratos' CLI) or,
without one, the config's database through the admin service. Both answer with the admin API's JSON."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import httpx

from gatekeeper.cli.runtime import NotMigrated, add_config_option, migrated_store, run_async
from gatekeeper.config import load_config
from gatekeeper.errors import GatekeeperError, StoreUnavailable, envelope_error
from gatekeeper.identity.admin import AdminService, Page
from gatekeeper.observe import Metrics
from gatekeeper.observe.tracing import NoTracer
from gatekeeper.server.identity_wiring import build_context


def add_target_flags(parser: argparse.ArgumentParser, *, inherit: bool = False) -> None:
    """`-c` (the database, when no admin API is named) and Kratos' `--endpoint/-e`; `inherit`: no defaults, so
    what a parent command parsed (`get -e URL identity ID`) stays."""
    add_config_option(parser, inherit=inherit)
    parser.add_argument("--endpoint", "-e", "--admin-url", dest="admin_url", metavar="URL",
                        default=argparse.SUPPRESS if inherit else os.environ.get("KRATOS_ADMIN_URL"),
                        help="the admin API of a running gatekeeper or Kratos (http://host:4434) instead of the "
                             "config's database (default: $KRATOS_ADMIN_URL)")


class Identities(Protocol):
    """The identity operations the commands use, as the admin API answers them."""

    async def page(self, size: int, token: str | None) -> tuple[list[dict[str, Any]], str]: ...
    async def get(self, identity_id: str, include: tuple[str, ...] = ()) -> dict[str, Any]: ...
    async def delete(self, identity_id: str) -> None: ...


class RemoteIdentities:
    """The admin API over HTTP; errors carry the API's message and reason."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url = http, url.rstrip("/")

    async def page(self, size: int, token: str | None) -> tuple[list[dict[str, Any]], str]:
        params = {"page_size": str(size), **({"page_token": token} if token else {})}
        resp = await self.http.get(f"{self.url}/admin/identities", params=params)
        next_link = resp.links.get("next", {}).get("url", "")
        return list(_ok(resp)), httpx.URL(next_link).params.get("page_token", "") if next_link else ""

    async def get(self, identity_id: str, include: tuple[str, ...] = ()) -> dict[str, Any]:
        params = httpx.QueryParams([("include_credential", kind) for kind in include])
        return dict(_ok(await self.http.get(f"{self.url}/admin/identities/{identity_id}", params=params)))

    async def delete(self, identity_id: str) -> None:
        _ok(await self.http.delete(f"{self.url}/admin/identities/{identity_id}"))


def _ok(resp: httpx.Response) -> Any:
    if resp.status_code < 400:
        return resp.json() if resp.status_code != 204 else None
    error = envelope_error(resp.text)
    if error is None:
        raise GatekeeperError(f"HTTP {resp.status_code}: {resp.text[:200]}")
    raise GatekeeperError(str(error.get("message") or f"HTTP {resp.status_code}"), reason=str(error.get("reason", "")))


class LocalIdentities:
    """The config's database through the admin service."""

    def __init__(self, service: AdminService) -> None:
        self.service = service

    async def page(self, size: int, token: str | None) -> tuple[list[dict[str, Any]], str]:
        found = await self.service.list_identities(Page(size, token))
        return [self.service.to_json(i) for i in found], found[-1].id if len(found) == size else ""

    async def get(self, identity_id: str, include: tuple[str, ...] = ()) -> dict[str, Any]:
        return dict(self.service.to_json(await self.service.get(identity_id), include))

    async def delete(self, identity_id: str) -> None:
        await self.service.delete(identity_id)


@contextlib.asynccontextmanager
async def connected(args: argparse.Namespace) -> AsyncIterator[tuple[AdminService | None, httpx.AsyncClient]]:
    """(the admin service on the config's database, or None for a remote admin API; an HTTP client)."""
    async with httpx.AsyncClient(timeout=120) as http:
        if args.admin_url:
            yield None, http
            return
        config = load_config(args.config, secrets_needed=False)
        async with migrated_store(config.store_dsn) as store:
            yield AdminService(await build_context(config, store, http, Metrics(), NoTracer())), http


Work = Callable[[Identities, AdminService | None, httpx.AsyncClient], Awaitable[int]]


def run_against(args: argparse.Namespace, work: Work) -> int:
    """Run `work` against the target `args` names; 1 with the reason on stderr when it cannot be reached."""
    async def main() -> int:
        try:
            async with connected(args) as (service, http):
                client: Identities = LocalIdentities(service) if service else RemoteIdentities(http, args.admin_url)
                return await work(client, service, http)
        except StoreUnavailable as exc:
            print(f"cannot reach the database {exc.reason}", file=sys.stderr)
        except NotMigrated as exc:
            print(f"error: {exc}", file=sys.stderr)
        except GatekeeperError as exc:
            print(f"error: {describe(exc)}", file=sys.stderr)
        except httpx.HTTPError as exc:
            print(f"error: cannot reach the admin API at {args.admin_url}: {exc or type(exc).__name__}",
                  file=sys.stderr)
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
        return 1

    return run_async(main())


def describe(exc: GatekeeperError) -> str:
    """`message: reason` (the reason only when there is one)."""
    return f"{exc.message}: {exc.reason}" if exc.reason else exc.message
