"""Every provider type Kratos v25.4 ships, and gatekeeper's plain `oauth2`, signs a user up once through HTTP
against a local stand-in answering in that provider's shapes (tests/support/social_fakes.py; the OpenID Connect
ones against tests/support/oidc_provider.py). Also the provider options: GitHub organizations and teams, Google
Workspace domains, and the keys each provider cannot do without."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gatekeeper.config.problems import ConfigError
from gatekeeper.identity.oidc.providers.x import signature
from tests.identity.conftest import started
from tests.identity.test_browser_flows import start_browser_flow
from tests.oidc.test_social_sign_in import APP, dance, error_of, press
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, GitHubApi, OidcProvider
from tests.support.servers import Instance, serving
from tests.support.social_fakes import SHAPES, FakeLine, FakeOAuth2, FakeX

MAPPER = """
local claims = std.extVar('claims');
{
  identity: {
    traits: { email: claims.email },
    metadata_public: { sub: claims.sub, names: [std.get(claims, k, '') for k in ['name', 'given_name']] },
  },
}
"""

SUBJECTS = {"oauth2": "1001", "amazon": "amzn1.account.1001",
            "github-app": "1001", "auth0": "auth0|1001", "discord": "1001", "facebook": "1001",
            "salesforce": "https://login.salesforce.com/id/00D/1001", "lark": "ou_1001", "linkedin": "1001",
            "patreon": "1001", "slack": "U1001", "spotify": "sp1001", "vk": "1001", "yandex": "1001",
            "dingtalk": "dt1001"}


def entry(kind: str, **extra: Any) -> dict[str, Any]:
    return {"id": kind.replace("_", "-"), "provider": kind, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "mapper_url": "base64://" + base64.b64encode(MAPPER.encode()).decode(), **extra}


async def linked(gk: Instance, identifier: str) -> Any:
    return await gk.container.identity.ctx.store.identity_by_identifier("oidc", identifier)


@contextlib.asynccontextmanager
async def gatekeeper(dsn: str, *providers: dict[str, Any]) -> AsyncIterator[Instance]:
    async with started(dsn, {"selfservice": {
            "methods": {"oidc": {"enabled": True, "config": {"providers": list(providers)}}},
            "flows": {"registration": {"after": {"oidc": {"hooks": [{"hook": "session"}]}}}}}}) as gk:
        yield gk


async def sign_up(gk: Instance, provider: str) -> dict[str, Any]:
    """Registers through the provider; the session's identity."""
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = await start_browser_flow(c, "registration")
        done = await dance(c, flow, provider)
        assert done.status_code == 303 and done.headers["location"] == APP, await error_of(c, done)
        identity: dict[str, Any] = (await c.get("/sessions/whoami")).json()["identity"]
        return identity


@pytest.mark.parametrize("kind", sorted(SHAPES))
async def test_each_oauth2_provider_signs_up_against_its_stand_in(kind: str, sqlite_dsn: str) -> None:
    fake = FakeOAuth2(kind)
    async with serving(fake.app()) as url:
        where = {"auth_url": f"{url}/oauth/authorize", "token_url": f"{url}/oauth/token",
                 "userinfo_url": f"{url}/api/me"} if kind == "oauth2" else {"issuer_url": url}
        if kind == "github-app":  # issuer_url moves GitHub's API only
            where.update(auth_url=f"{url}/login/oauth/authorize", token_url=f"{url}/login/oauth/access_token")
        async with gatekeeper(sqlite_dsn, entry(kind, **where)) as gk:
            me = await sign_up(gk, entry(kind)["id"])
            assert me["traits"] == {"email": "kim@example.com"}
            assert me["metadata_public"]["sub"] == SUBJECTS[kind]
            assert any(n in ("Kim Lee", "Kim", "kim#0042") for n in me["metadata_public"]["names"])
            found = await linked(gk, f"{entry(kind)['id']}:{SUBJECTS[kind]}")
            assert found is not None and found.id == me["id"]
    sent = fake.authorize_requests[0]
    assert sent["response_type"] == "code" and sent["redirect_uri"].endswith(f"/callback/{entry(kind)['id']}")
    assert "nonce" not in sent  # no id_token: nothing to bind a nonce to


def apple_key() -> tuple[str, ec.EllipticCurvePublicKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key()


async def test_apple_signs_its_client_secret_and_posts_the_callback_with_the_name(sqlite_dsn: str) -> None:
    pem, public = apple_key()
    idp = OidcProvider()
    idp.user = {"sub": "000123.apple", "email": "kim@privaterelay.appleid.com", "email_verified": "true"}
    idp.form_post_user = json.dumps({"name": {"firstName": "Kim", "lastName": "Lee"}})
    secrets: list[dict[str, Any]] = []

    def secret_ok(secret: str) -> bool:
        claims = jwt.decode(secret, public, algorithms=["ES256"], audience="https://appleid.apple.com")
        secrets.append({**claims, "kid": jwt.get_unverified_header(secret)["kid"]})
        return bool(claims["iss"] == "TEAM123" and claims["sub"] == CLIENT_ID)

    idp.secret_ok = secret_ok
    async with serving(idp.app()) as url:
        idp.base = url
        apple = entry("apple", issuer_url=url, apple_team_id="TEAM123", apple_private_key_id="KEY456",
                      apple_private_key=pem, client_secret="")
        async with gatekeeper(sqlite_dsn, apple) as gk, httpx.AsyncClient(base_url=gk.public) as c:
            flow = await start_browser_flow(c, "registration")
            form_post = (await c.get((await press(c, flow, "apple")).headers["location"])).json()
            assert idp.authorize_requests[-1]["response_mode"] == "form_post"
            done = await c.post(form_post["action"], data=form_post["fields"])
            assert done.headers["location"] == APP, await error_of(c, done)
            me = (await c.get("/sessions/whoami")).json()["identity"]
    assert me["traits"] == {"email": "kim@privaterelay.appleid.com"}
    assert me["metadata_public"] == {"sub": "000123.apple", "names": ["", "Kim"]}  # the name came with the POST
    assert secrets[0]["kid"] == "KEY456" and secrets[0]["exp"] - secrets[0]["iat"] == 300


@pytest.mark.parametrize("kind", ["linkedin_v2", "netid"])
async def test_openid_connect_providers_that_read_userinfo(kind: str, sqlite_dsn: str) -> None:
    idp = OidcProvider()
    idp.user = {"sub": "li-77", "email": "kim@example.com", "email_verified": True}
    idp.userinfo_extra = {"given_name": "Kim"}  # only userinfo tells it
    async with serving(idp.app()) as url:
        idp.base = url
        async with gatekeeper(sqlite_dsn, entry(kind, issuer_url=url)) as gk:
            me = await sign_up(gk, entry(kind)["id"])
    assert me["metadata_public"] == {"sub": "li-77", "names": ["", "Kim"]}


async def test_line_asks_for_an_id_token_signed_with_its_published_key(sqlite_dsn: str) -> None:
    line = FakeLine()
    async with serving(line.app()) as url:
        line.base = url
        async with gatekeeper(sqlite_dsn, entry("line", issuer_url=url, scope=["profile", "email"])) as gk:
            me = await sign_up(gk, "line")
            assert await linked(gk, "line:U4af4980629") is not None
    assert line.key_types == ["JWK"]  # without it LINE signs with the channel secret, which no JWKS publishes
    assert line.authorize_requests[0]["scope"].split() == ["openid", "profile", "email"]
    assert me["traits"] == {"email": "kim@example.com"}
    assert me["metadata_public"] == {"sub": "U4af4980629", "names": ["Kim Lee", ""]}


async def test_github_organizations_and_teams_restrict_who_signs_in(sqlite_dsn: str) -> None:
    github = GitHubApi()
    async with serving(github.app()) as url:
        common = {"issuer_url": url, "auth_url": f"{url}/login/oauth/authorize",
                  "token_url": f"{url}/login/oauth/access_token"}
        orgs = {**entry("github", **common), "id": "gh-org", "github_organizations": ["Octo-Org"]}
        teams = {**entry("github", **common), "id": "gh-team", "github_teams": ["octo-org/security"]}
        async with gatekeeper(sqlite_dsn, orgs, teams) as gk:
            assert (await sign_up(gk, "gh-org"))["traits"] == {"email": "octo@example.com"}
            async with httpx.AsyncClient(base_url=gk.public) as c:
                flow = await start_browser_flow(c, "registration")
                to_github = (await press(c, flow, "gh-team")).headers["location"]
                assert parse_qs(urlsplit(to_github).query)["scope"] == ["user:email read:org"]
                callback = (await c.get(to_github)).headers["location"]
                error = await error_of(c, await c.get(callback))
                assert "not a member of an organization or team allowed" in error["reason"]
            assert await linked(gk, "gh-team:4242") is None
            github.teams.append("octo-org/security")
            github.user, github.emails = {"id": 5151, "login": "sec"}, [
                {"email": "sec@example.com", "primary": True, "verified": True}]
            assert (await sign_up(gk, "gh-team"))["traits"] == {"email": "sec@example.com"}


async def test_google_workspace_domains(sqlite_dsn: str) -> None:
    idp = OidcProvider()
    idp.user = {"sub": "g-1", "email": "kim@gmail.com", "email_verified": True}
    async with serving(idp.app()) as url:
        idp.base = url
        google = entry("google", issuer_url=url, google_hosted_domains=["example.com"])
        async with gatekeeper(sqlite_dsn, google) as gk, httpx.AsyncClient(base_url=gk.public) as c:
            flow = await start_browser_flow(c, "registration")
            error = await error_of(c, await dance(c, flow, "google"))
            assert idp.authorize_requests[-1]["hd"] == "example.com"
            assert "Only Google Workspace accounts of example.com" in error["reason"]
            assert await linked(gk, "google:g-1") is None
            idp.user = {"sub": "g-2", "email": "kim@example.com", "email_verified": True, "hd": "example.com"}
            flow = await start_browser_flow(c, "registration")
            assert (await dance(c, flow, "google")).headers["location"] == APP


async def test_keys_a_provider_cannot_do_without_stop_start_up(sqlite_dsn: str) -> None:
    with pytest.raises(ConfigError) as caught:
        async with gatekeeper(sqlite_dsn, entry("auth0"), entry("oauth2", auth_url="https://a.example/auth"),
                              entry("apple", apple_team_id="T", apple_private_key_id="K",
                                    apple_private_key="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"),
                              entry("amazon", scope=["profile", "email"])):
            pass
    assert [(p.path.rsplit(".", 2)[-2:], p.message) for p in caught.value.problems] == [
        (["0", "issuer_url"], "is required for the auth0 provider"),
        (["1", "token_url"], "is required for the oauth2 provider"),
        (["1", "userinfo_url"], "is required for the oauth2 provider"),
        (["2", "apple_private_key"], "is not a PEM-encoded PKCS#8 private key"),
        (["3", "scope"], "scope email not supported; Amazon supports profile, profile:user_id, postal_code")]


def test_oauth1_signatures_match_rfc_5849s_example() -> None:
    """RFC 5849 section 1.2: the photo request signed with the example's consumer and token secrets."""
    params = {"oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk",
              "oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131202", "oauth_nonce": "chapoH"}
    assert signature("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original", params,
                     "kd94hf93k423kf44", "pfkkdhi9sl3r4s00") == "MdpQcU8iPSUjWoN/UDMsK2sui9I="


async def test_x_signs_in_with_oauth1(sqlite_dsn: str) -> None:
    fake = FakeX()
    async with serving(fake.app()) as url, \
            gatekeeper(sqlite_dsn, entry("x", issuer_url=url, scope=["email"])) as gk:
        me = await sign_up(gk, "x")
        assert me["traits"] == {"email": "kim@example.com"}
        assert me["metadata_public"] == {"sub": "1001", "names": ["Kim Lee", ""]}
        async with httpx.AsyncClient(base_url=gk.public) as c:  # the user says no at X
            flow = await start_browser_flow(c, "login")
            callback = (await c.get((await press(c, flow, "x")).headers["location"])).headers["location"]
            state = parse_qs(urlsplit(callback).query)["state"][0]
            denied = callback.split("?")[0] + "?" + urlencode({"state": state, "code": "unused", "denied": "t"})
            assert "denied the request" in (await error_of(c, await c.get(denied)))["reason"]


async def test_apple_native_id_tokens_without_nonce_support_pass_only_when_apple_says_so(sqlite_dsn: str) -> None:
    pem, _ = apple_key()
    idp = OidcProvider()
    async with serving(idp.app()) as url:
        idp.base = url
        apple = entry("apple", issuer_url=url, apple_team_id="T", apple_private_key_id="K", apple_private_key=pem)
        async with gatekeeper(sqlite_dsn, apple) as gk, httpx.AsyncClient(base_url=gk.public) as app:
            submit = {"method": "oidc", "provider": "apple"}
            flow = (await app.get("/self-service/login/api")).json()
            no_nonce = await app.post(flow["ui"]["action"], json={**submit, "id_token": idp.id_token()})
            assert no_nonce.status_code == 400 and await linked(gk, "apple:user-1") is None
            old_device = idp.id_token({**idp.user, "nonce_supported": False})
            flow = (await app.get("/self-service/login/api")).json()
            done = await app.post(flow["ui"]["action"], json={**submit, "id_token": old_device})
            assert done.status_code == 200 and done.json()["session_token"]
