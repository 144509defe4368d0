"""Claims kept current (`update_identity_on_login: automatic`): a user removed from a group at the provider
loses access through a rule reading that group within the revocation bound, in every session they hold and on
every replica; with
the default (`never`) the identity keeps what registration mapped."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.identity.conftest import started
from tests.identity.test_browser_flows import start_browser_flow
from tests.oidc.test_social_sign_in import APP, dance
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from tests.support.servers import Instance, serving

BOUND = 1.0  # docs/operations.md: every replica refuses a revoked session within a second

GROUPS_MAPPER = """
local claims = std.extVar('claims');
{
  identity: {
    traits: { email: claims.email },
    metadata_public: { groups: std.get(claims.raw_claims, 'groups', []) },
    verified_addresses: [{ via: 'email', value: claims.email }],
  },
}
"""

RULE = {"id": "reports", "match": {"url": "http://<.*>/reports", "methods": ["GET"]},
        "authenticators": [{"handler": "cookie_session"}],
        "authorizer": {"handler": "expression",
                       "config": {"expression": '"admins" in identity.metadata_public.groups'}},
        "mutators": [{"handler": "noop"}]}


@contextlib.asynccontextmanager
async def gatekeeper(dsn: str, tmp_path: Path) -> AsyncIterator[tuple[Instance, OidcProvider]]:
    async with replicas(dsn, tmp_path, 1) as (gks, idp):
        yield gks[0], idp


@contextlib.asynccontextmanager
async def replicas(dsn: str, tmp_path: Path, count: int) -> AsyncIterator[tuple[list[Instance], OidcProvider]]:
    """`count` replicas on one database with two providers on one IdP: `synced` (automatic) and `frozen` (the
    default, never); a session lookup is trusted for a minute, so only the broadcast can make a replica re-read
    it in time."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump([RULE]))
    idp = OidcProvider()
    idp.user["groups"] = ["admins", "staff"]
    async with serving(idp.app()) as url:
        idp.base = url
        mapper = "base64://" + base64.b64encode(GROUPS_MAPPER.encode()).decode()
        common = {"provider": "generic", "issuer_url": url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                  "mapper_url": mapper, "scope": ["email"]}
        config: dict[str, Any] = {
            "session": {"cache_ttl": "60s"},
            "access_rules": {"repositories": [f"file://{rules}"]},
            "authenticators": {"cookie_session": {"enabled": True}},
            "authorizers": {"expression": {"enabled": True}},
            "mutators": {"noop": {"enabled": True}},
            "selfservice": {"methods": {"oidc": {"enabled": True, "config": {"providers": [
                {"id": "synced", **common, "update_identity_on_login": "automatic"},
                {"id": "frozen", **common}]}}},
                "flows": {"registration": {"after": {"oidc": {"hooks": [{"hook": "session"}]}}}}},
        }
        async with contextlib.AsyncExitStack() as stack:
            yield [await stack.enter_async_context(started(dsn, config)) for _ in range(count)], idp


async def sign_in(gk: Instance, provider: str, kind: str = "login") -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=gk.public)
    flow = await start_browser_flow(client, kind)
    assert (await dance(client, flow, provider)).headers["location"] == APP
    return client


async def decide(gk: Instance, client: httpx.AsyncClient) -> int:
    async with httpx.AsyncClient() as c:
        resp = await c.get(f"{gk.api}/decisions/reports",
                           headers={"Cookie": f"ory_kratos_session={client.cookies['ory_kratos_session']}"})
    return resp.status_code


async def test_a_group_removed_at_the_provider_denies_within_the_bound(dsn: str, tmp_path: Path) -> None:
    async with replicas(dsn, tmp_path, 2) as ([gk, other], idp):
        laptop = await sign_in(gk, "synced", "registration")
        assert await decide(gk, laptop) == 200 and await decide(other, laptop) == 200  # cached for a minute
        idp.user["groups"] = ["staff"]
        phone = await sign_in(gk, "synced")  # the next social sign-in anywhere re-runs the mapper
        signed_in = time.monotonic()
        while await decide(other, laptop) != 403:  # the other replica too
            assert time.monotonic() - signed_in < BOUND, "the laptop's session still passes the rule"
        assert await decide(gk, laptop) == 403 and await decide(gk, phone) == 403
        me = (await laptop.get("/sessions/whoami")).json()["identity"]
        assert me["metadata_public"] == {"groups": ["staff"]}
        assert me["verifiable_addresses"][0]["verified"] is True  # kept
        idp.user["groups"] = ["admins"]  # and back
        await sign_in(gk, "synced")
        signed_in = time.monotonic()
        while await decide(gk, laptop) != 200:
            assert time.monotonic() - signed_in < BOUND
        for client in (laptop, phone):
            await client.aclose()


async def test_the_default_keeps_what_registration_mapped(sqlite_dsn: str, tmp_path: Path) -> None:
    async with gatekeeper(sqlite_dsn, tmp_path) as (gk, idp):
        first = await sign_in(gk, "frozen", "registration")
        idp.user.update(groups=["staff"], email="ada.new@example.com")
        again = await sign_in(gk, "frozen")
        me = (await again.get("/sessions/whoami")).json()["identity"]
        assert me["metadata_public"] == {"groups": ["admins", "staff"]}
        assert me["traits"] == {"email": "ada@example.com"}
        assert await decide(gk, again) == 200
        for client in (first, again):
            await client.aclose()


async def test_changed_traits_are_stored_and_invalid_ones_refuse_the_sign_in(sqlite_dsn: str,
                                                                              tmp_path: Path) -> None:
    async with gatekeeper(sqlite_dsn, tmp_path) as (gk, idp):
        first = await sign_in(gk, "synced", "registration")
        idp.user["email"] = "ada.new@example.com"
        again = await sign_in(gk, "synced")
        me = (await again.get("/sessions/whoami")).json()["identity"]
        assert me["traits"] == {"email": "ada.new@example.com"}
        assert [(a["value"], a["verified"]) for a in me["verifiable_addresses"]] == [("ada.new@example.com", True)]
        idp.user["email"] = "not an address"
        client = httpx.AsyncClient(base_url=gk.public)
        flow = await start_browser_flow(client, "login")
        refused = await dance(client, flow, "synced")
        assert "/ui/error" in refused.headers["location"]
        assert "ory_kratos_session" not in client.cookies
        still = (await first.get("/sessions/whoami")).json()["identity"]
        assert still["traits"] == {"email": "ada.new@example.com"}
        for c in (first, again, client):
            await c.aclose()
