"""The session at the provider: its tokens refreshed before they expire when `offline_access` was granted
(stored sealed), and RP-initiated logout at its `end_session_endpoint` when `rp_initiated_logout` is on."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from gatekeeper.config.problems import ConfigError
from tests.identity.conftest import started
from tests.identity.test_browser_flows import start_browser_flow
from tests.oidc.conftest import mapper_url
from tests.oidc.test_social_sign_in import APP, dance
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from tests.support.servers import Instance, serving

JSON = {"Accept": "application/json"}


@contextlib.asynccontextmanager
async def gatekeeper(dsn: str, **options: Any) -> AsyncIterator[tuple[Instance, OidcProvider]]:
    """Two providers on one IdP: `offline` (asks for offline_access; `options` apply) and `plain`."""
    idp = OidcProvider()
    async with serving(idp.app()) as url:
        idp.base = url
        common = {"provider": "generic", "issuer_url": url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                  "mapper_url": mapper_url()}
        config = {"selfservice": {"methods": {"oidc": {"enabled": True, "config": {"providers": [
            {"id": "offline", **common, "scope": ["openid", "email", "profile", "offline_access"], **options},
            {"id": "plain", **common}]}}},
            "flows": {"registration": {"after": {"oidc": {"hooks": [{"hook": "session"}]}}}}}}
        async with started(dsn, config) as gk:
            yield gk, idp


def entry(gk: Instance, ident: Any, provider: str) -> dict[str, Any]:
    found: dict[str, Any] = next(e for e in ident.credentials["oidc"].config["providers"] if e["provider"] == provider)
    return found


async def stored(gk: Instance, identifier: str) -> Any:
    return await gk.container.identity.ctx.store.identity_by_identifier("oidc", identifier)


async def sign_up(client: httpx.AsyncClient, provider: str) -> None:
    flow = await start_browser_flow(client, "registration")
    assert (await dance(client, flow, provider)).headers["location"] == APP


async def test_offline_tokens_are_refreshed_before_they_expire(dsn: str) -> None:
    async with gatekeeper(dsn) as (gk, idp):
        idp.expires_in = 45  # refreshed when a third of its life (at least a minute) is left: due at once
        async with httpx.AsyncClient(base_url=gk.public) as c:
            await sign_up(c, "offline")
        social, refresher = gk.container.identity.social, gk.container.identity.token_refresher
        assert social is not None and refresher is not None
        first = entry(gk, await stored(gk, "offline:user-1"), "offline")
        tokens = social.tokens.open(first["tokens"])
        assert tokens is not None and tokens["refresh_token"] in idp.refresh and "refresh_token" not in first
        assert await refresher.run_once() == 1 and idp.refresh_requests == 1
        second = social.tokens.open(entry(gk, await stored(gk, "offline:user-1"), "offline")["tokens"])
        assert second is not None and second["access_token"] != tokens["access_token"]
        assert second["access_token"] in idp.access and second["refresh_token"] in idp.refresh  # rotated, kept
        assert await refresher.run_once() == 1 and idp.refresh_requests == 2  # the rotated one works
        idp.refresh.clear()  # the user revoked the grant at the provider
        assert await refresher.run_once() == 0
        assert "refresh_at" not in entry(gk, await stored(gk, "offline:user-1"), "offline")  # no more tries
        assert await refresher.run_once() == 0 and idp.refresh_requests == 3
        async with httpx.AsyncClient() as c:
            metrics = (await c.get(f"{gk.metrics}/metrics")).text
        assert 'gatekeeper_social_token_refreshes_total{provider="offline",result="refused"} 1.0' in metrics
        idp.user = {**idp.user, "sub": "user-2", "email": "grace@example.com"}
        async with httpx.AsyncClient(base_url=gk.public) as c:
            await sign_up(c, "plain")  # no offline_access asked: nothing to refresh
        assert "refresh_at" not in entry(gk, await stored(gk, "plain:user-2"), "plain")


async def test_logout_ends_the_session_at_the_provider_when_configured(sqlite_dsn: str) -> None:
    async with gatekeeper(sqlite_dsn, rp_initiated_logout=True) as (gk, idp):
        async with httpx.AsyncClient(base_url=gk.public) as c:
            await sign_up(c, "offline")
            url = (await c.get("/self-service/logout/browser", headers=JSON)).json()["logout_url"]
            out = await c.get(url)
            assert out.status_code == 303 and out.headers["location"].startswith(f"{idp.base}/end_session?")
            sent = {k: v[0] for k, v in parse_qs(urlsplit(out.headers["location"]).query).items()}
            assert sent["client_id"] == CLIENT_ID and sent["post_logout_redirect_uri"] == APP
            hint = jwt.decode(sent["id_token_hint"], options={"verify_signature": False})
            assert hint["sub"] == "user-1" and hint["aud"] == CLIENT_ID
            back = await c.get(out.headers["location"])
            assert back.headers["location"] == APP
            assert (await c.get("/sessions/whoami")).status_code == 401  # signed out here too
        idp.user = {**idp.user, "sub": "user-2", "email": "grace@example.com"}
        async with httpx.AsyncClient(base_url=gk.public) as c:  # a provider without the option: straight back
            await sign_up(c, "plain")
            url = (await c.get("/self-service/logout/browser", headers=JSON)).json()["logout_url"]
            assert (await c.get(url)).headers["location"] == APP
        assert len(idp.end_session_requests) == 1


async def test_logout_at_the_provider_needs_openid_connect(sqlite_dsn: str) -> None:
    with pytest.raises(ConfigError, match=r"providers\.0\.rp_initiated_logout"):
        async with started(sqlite_dsn, {"selfservice": {"methods": {"oidc": {"enabled": True, "config": {
                "providers": [{"id": "gh", "provider": "github", "client_id": "x", "rp_initiated_logout": True}]}}}}}):
            pass
