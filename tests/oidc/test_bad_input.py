"""Bad input on the new providers: provider errors, scopes not granted, tampered and replayed state, id_tokens
for another audience, and an address the provider did not verify that belongs to an account (linking needs
that account's own sign-in: Kratos' 1010016, and 4010009 for someone else's). Nothing is created or linked."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx

from gatekeeper.identity.text import Msg
from tests.identity.conftest import PASSWORD
from tests.identity.test_browser_flows import csrf_value, flow_id, register_html, start_browser_flow
from tests.oidc.test_every_provider import entry, gatekeeper, linked
from tests.oidc.test_social_sign_in import APP, at_provider, dance, error_of
from tests.support.oidc_provider import OidcProvider
from tests.support.servers import serving
from tests.support.social_fakes import FakeOAuth2

TAKE_ANY_EMAIL = """
local claims = std.extVar('claims');
{ identity: { traits: { email: claims.email },
              verified_addresses: if claims.email_verified then [{ via: 'email', value: claims.email }] else [] } }
"""


async def test_plain_oauth2_refusals_create_nobody(sqlite_dsn: str) -> None:
    fake = FakeOAuth2("discord")
    async with serving(fake.app()) as url, \
            gatekeeper(sqlite_dsn, entry("discord", issuer_url=url, scope=["identify", "email", "guilds"]),
                       {**entry("discord", issuer_url=url), "id": "discord-ok"}) as gk, \
            httpx.AsyncClient(base_url=gk.public) as c:
        flow = await start_browser_flow(c, "registration")  # the user unticked "guilds" at Discord
        error = await error_of(c, await dance(c, flow, "discord"))
        assert error["reason"] == ("Unable to finish because one or more permissions were not granted. Please retry "
                                   "and accept all permissions.")
        flow = await start_browser_flow(c, "registration")
        callback = await at_provider(c, flow, "discord-ok")
        parts = urlsplit(callback)
        state = parse_qs(parts.query)["state"][0]
        denied = urlunsplit(parts._replace(query=urlencode({"state": state, "error": "access_denied",
                                                            "error_description": "The user said no"})))
        error = await error_of(c, await c.get(denied))
        assert error["reason"].startswith('Unable to complete OpenID Connect flow because the OpenID Provider '
                                          'returned error "access_denied"')
        flow = await start_browser_flow(c, "registration")
        callback = await at_provider(c, flow, "discord-ok")
        code = parse_qs(urlsplit(callback).query)["code"][0]
        tampered = callback.split("?")[0] + "?" + urlencode({"code": code, "state": state[:-4] + "AAAA"})
        error = await error_of(c, await c.get(tampered))
        assert error["reason"] == "Unable to complete OpenID Connect flow because the state parameter is invalid."
        assert await linked(gk, "discord:1001") is None and await linked(gk, "discord-ok:1001") is None
        assert (await c.get(callback)).headers["location"] == APP  # the untampered one still works, once
        error = await error_of(c, await c.get(callback))
        assert "already used" in error["reason"]


async def test_an_id_token_for_another_audience_is_refused(sqlite_dsn: str) -> None:
    idp = OidcProvider()
    idp.faults = {"wrong_audience"}
    async with serving(idp.app()) as url:
        idp.base = url
        async with gatekeeper(sqlite_dsn, entry("linkedin_v2", issuer_url=url)) as gk, \
                httpx.AsyncClient(base_url=gk.public) as c:
            flow = await start_browser_flow(c, "registration")
            error = await error_of(c, await dance(c, flow, "linkedin-v2"))
            assert "audience mismatch" in error["reason"]
            assert await linked(gk, "linkedin-v2:user-1") is None


async def test_an_unverified_address_links_only_after_its_owner_signs_in(dsn: str) -> None:
    fake = FakeOAuth2("github-app")
    fake.person.email = "ada@example.com"
    fake.answers["/user/emails"] = lambda p: [{"email": p.email, "primary": True, "verified": False}]
    mapper = "base64://" + base64.b64encode(TAKE_ANY_EMAIL.encode()).decode()
    async with serving(fake.app()) as url:
        app = entry("github-app", mapper_url=mapper, issuer_url=url, auth_url=f"{url}/login/oauth/authorize",
                    token_url=f"{url}/login/oauth/access_token")
        async with gatekeeper(dsn, app) as gk:
            async with httpx.AsyncClient(base_url=gk.public) as owner:
                assert (await register_html(owner, "ada@example.com")).status_code == 303
                ada = (await owner.get("/sessions/whoami")).json()["identity"]["id"]
            async with httpx.AsyncClient(base_url=gk.public) as other:
                assert (await register_html(other, "eve@example.com")).status_code == 303
            async with httpx.AsyncClient(base_url=gk.public) as c:
                flow = await start_browser_flow(c, "registration")
                back = await dance(c, flow, "github-app")
                login = (await c.get("/self-service/login/flows",
                                     params={"id": flow_id(back.headers["location"])})).json()
                assert [m["id"] for m in login["ui"]["messages"]] == [Msg.INFO_LOGIN_LINK]
                assert await linked(gk, "github-app:1001") is None  # nothing created, nothing linked yet
                wrong = await c.post(login["ui"]["action"], headers={"Accept": "application/json"}, json={
                    "csrf_token": csrf_value(login), "method": "password", "identifier": "eve@example.com",
                    "password": PASSWORD})
                assert wrong.status_code == 400
                assert [m["id"] for m in wrong.json()["ui"]["messages"]] == [Msg.ERR_LOGIN_LINKED_CREDENTIALS_MISMATCH]
                assert await linked(gk, "github-app:1001") is None
                right = await c.post(login["ui"]["action"], data={
                    "csrf_token": csrf_value(login), "method": "password", "identifier": "ada@example.com",
                    "password": PASSWORD})
                assert right.status_code == 303
            found = await linked(gk, "github-app:1001")
            assert found is not None and found.id == ada

