"""Social sign-in over HTTP with a cookie-holding client that follows every redirect by hand: gatekeeper ->
provider (a real OpenID Connect server on 127.0.0.1) -> gatekeeper's callback -> the app."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx

from gatekeeper.identity.csrf import cookie_name
from gatekeeper.identity.text import Msg
from tests.identity.conftest import PASSWORD
from tests.identity.test_browser_flows import csrf_value, flow_id, register_html, start_browser_flow
from tests.oidc.conftest import Env

APP = "http://app.example.test/"


def oidc_buttons(flow: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(n["attributes"]["value"], n["meta"]["label"]["id"], n["meta"]["label"]["text"])
            for n in flow["ui"]["nodes"] if n["group"] == "oidc"]


async def press(c: httpx.AsyncClient, flow: dict[str, Any], provider: str, **form: str) -> httpx.Response:
    return await c.post(flow["ui"]["action"], data={"csrf_token": csrf_value(flow), "provider": provider, **form})


async def at_provider(c: httpx.AsyncClient, flow: dict[str, Any], provider: str) -> str:
    """Press the provider's button and consent there: the callback URL the provider sends the browser to."""
    resp = await press(c, flow, provider)
    assert resp.status_code == 303, resp.text
    consent = await c.get(resp.headers["location"])
    assert consent.status_code == 302, consent.text
    return consent.headers["location"]


async def dance(c: httpx.AsyncClient, flow: dict[str, Any], provider: str) -> httpx.Response:
    return await c.get(await at_provider(c, flow, provider))


async def error_of(c: httpx.AsyncClient, resp: httpx.Response) -> dict[str, Any]:
    """A browser error ends on the error UI: read the stored error as the UI would."""
    assert resp.status_code == 303 and "/ui/error?id=" in resp.headers["location"], (resp.status_code, resp.text)
    error_id = parse_qs(urlsplit(resp.headers["location"]).query)["id"][0]
    stored = await c.get("/self-service/errors", params={"id": error_id})
    error: dict[str, Any] = stored.json()["error"]
    return error


async def oidc_identity(env: Env, identifier: str) -> Any:
    return await env.gk.container.identity.ctx.store.identity_by_identifier("oidc", identifier)


async def test_sign_up_then_sign_in_with_an_openid_connect_provider(dsn: str, env_for: Any) -> None:
    async with env_for(dsn) as env, httpx.AsyncClient(base_url=env.gk.public) as c:
        flow = await start_browser_flow(c, "registration")
        assert oidc_buttons(flow) == [("entra", 1040002, "Sign up with Microsoft"),
                                      ("github", 1040002, "Sign up with GitHub"),
                                      ("idp", 1040002, "Sign up with Test IdP")]
        done = await dance(c, flow, "idp")
        assert done.status_code == 303 and done.headers["location"] == APP
        me = (await c.get("/sessions/whoami")).json()
        assert me["identity"]["traits"] == {"email": "ada@example.com", "name": {"first": "Ada"}}
        assert me["identity"]["metadata_public"] == {"signed_up_with": "social"}
        address = me["identity"]["verifiable_addresses"][0]  # the mapper says the provider verified it
        assert address["value"] == "ada@example.com" and address["verified"] and address["status"] == "completed"
        assert [(m["method"], m["provider"]) for m in me["authentication_methods"]] == [("oidc", "idp")]
        sent = env.idp.authorize_requests[-1]
        assert sent["code_challenge_method"] == "S256" and sent["nonce"] and sent["scope"] == "openid email profile"
        stored = await oidc_identity(env, "idp:user-1")
        assert stored.id == me["identity"]["id"] and "password" not in stored.credentials
        entry = stored.credentials["oidc"].config["providers"][0]
        assert entry["subject"] == "user-1" and entry["provider"] == "idp"
        assert entry["initial_access_token"] not in env.idp.access  # kept encrypted
    # another browser signs in with the same provider account: the same identity, no second one
        async with httpx.AsyncClient(base_url=env.gk.public) as other:
            login = await start_browser_flow(other, "login")
            assert ("idp", 1010002, "Sign in with Test IdP") in oidc_buttons(login)
            assert (await dance(other, login, "idp")).headers["location"] == APP
            again = (await other.get("/sessions/whoami")).json()
            assert again["identity"]["id"] == me["identity"]["id"]


async def test_tampered_id_tokens_are_refused_and_create_nobody(env: Env) -> None:
    reasons = {"bad_signature": "signature is invalid", "wrong_audience": "audience mismatch",
               "expired": "has expired", "no_nonce": "carries no nonce"}
    for fault, reason in reasons.items():
        env.idp.faults = {fault}
        async with httpx.AsyncClient(base_url=env.gk.public) as c:
            flow = await start_browser_flow(c, "registration")
            error = await error_of(c, await dance(c, flow, "idp"))
            assert error["code"] == 400 and reason in error["reason"], (fault, error)
            assert (await c.get("/sessions/whoami")).status_code == 401
    assert await oidc_identity(env, "idp:user-1") is None


async def test_wrong_state_replayed_callback_and_another_browser_are_refused(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as c:
        flow = await start_browser_flow(c, "login")
        callback = await at_provider(c, flow, "idp")
        parts = urlsplit(callback)
        query = parse_qs(parts.query)
        forged = urlunsplit(parts._replace(query=urlencode({"code": query["code"][0], "state": "forged"})))
        error = await error_of(c, await c.get(forged))
        assert error["reason"] == "Unable to complete OpenID Connect flow because the state parameter is invalid."
        # the same callback from a browser that did not start this sign-in
        async with httpx.AsyncClient(base_url=env.gk.public) as stranger:
            error = await error_of(stranger, await stranger.get(callback))
            assert error["id"] == "security_csrf_violation"
        # nor from one holding a valid CSRF cookie of its own (login CSRF: it would sign in as A's account)
        async with httpx.AsyncClient(base_url=env.gk.public) as stranger:
            own = await start_browser_flow(stranger, "login")
            assert cookie_name(env.gk.public) in stranger.cookies and own["id"] != flow["id"]
            error = await error_of(stranger, await stranger.get(callback))
            assert error["id"] == "security_csrf_violation"
            assert "ory_kratos_session" not in stranger.cookies
            assert (await stranger.get("/sessions/whoami")).status_code == 401
        # the stranger's attempt did not spend it: the browser that started the sign-in finishes it
        assert (await c.get(callback)).headers["location"] == APP
        # and replaying the callback afterwards is refused, with or without the session
        error = await error_of(c, await c.get(callback))
        assert "already used" in error["reason"]
    async with httpx.AsyncClient(base_url=env.gk.public, cookies=c.cookies) as replay:
        replay.cookies.delete("ory_kratos_session")
        error = await error_of(replay, await replay.get(callback))
        assert "already used" in error["reason"]


async def test_provider_errors_and_outages_end_on_the_error_page(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as c:
        flow = await start_browser_flow(c, "registration")
        callback = await at_provider(c, flow, "idp")
        env.idp.faults = {"down"}
        error = await error_of(c, await c.get(callback))
        assert error["code"] == 502 and "did not answer its token request" in error["reason"]
        env.idp.faults = set()
        flow = await start_browser_flow(c, "registration")
        callback = await at_provider(c, flow, "idp")
        state = parse_qs(urlsplit(callback).query)["state"][0]
        denied = callback.split("?")[0] + "?" + urlencode({"error": "access_denied", "error_description": "no",
                                                           "state": state})
        error = await error_of(c, await c.get(denied))
        assert 'returned error "access_denied"' in error["reason"]
    assert await oidc_identity(env, "idp:user-1") is None
    assert await social_metric(env, "idp", "provider_unavailable") == 1
    assert await social_metric(env, "idp", "refused") == 1
    async with httpx.AsyncClient() as c:
        metrics = (await c.get(f"{env.gk.metrics}/metrics")).text
    assert 'gatekeeper_identity_flow_submissions_total{flow="registration",result="redirected"} 2.0' in metrics


async def social_metric(env: Env, provider: str, result: str) -> float:
    async with httpx.AsyncClient() as c:
        text = (await c.get(f"{env.gk.metrics}/metrics")).text
    line = f'gatekeeper_social_sign_in_total{{provider="{provider}",result="{result}"}} '
    return next((float(row[len(line):]) for row in text.splitlines() if row.startswith(line)), 0.0)


async def test_missing_traits_continue_the_registration_form(env: Env) -> None:
    env.idp.user["email_verified"] = False  # the mapper only takes verified e-mails
    async with httpx.AsyncClient(base_url=env.gk.public) as c:
        flow = await start_browser_flow(c, "registration")
        back = await dance(c, flow, "idp")
        assert back.status_code == 303 and flow_id(back.headers["location"]) == flow["id"]
        form = (await c.get("/self-service/registration/flows", params={"id": flow["id"]})).json()
        email = next(n for n in form["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
        assert [m["id"] for m in email["messages"]] == [Msg.ERR_VALIDATION_REQUIRED]
        first = next(n for n in form["ui"]["nodes"] if n["attributes"]["name"] == "traits.name.first")
        assert first["attributes"]["value"] == "Ada"
        assert oidc_buttons(form) == [("idp", 1040003, "Continue")]
        assert await oidc_identity(env, "idp:user-1") is None
        done = await press(c, form, "idp", **{"traits.email": "ada.l@example.com", "traits.name.first": "Ada"})
        assert done.status_code == 303 and done.headers["location"] == APP
        me = (await c.get("/sessions/whoami")).json()
        assert me["identity"]["traits"]["email"] == "ada.l@example.com"
        assert (await oidc_identity(env, "idp:user-1")).id == me["identity"]["id"]
    assert await social_metric(env, "idp", "traits_required") == 1


async def test_an_address_with_a_password_account_links_after_signing_in_with_the_password(dsn: str,
                                                                                          env_for: Any) -> None:
    async with env_for(dsn) as env:  # SQLite and PostgreSQL: credentials change after creation
        async with httpx.AsyncClient(base_url=env.gk.public) as c:
            assert (await register_html(c, "ada@example.com")).status_code == 303
            owner = (await c.get("/sessions/whoami")).json()["identity"]["id"]
        async with httpx.AsyncClient(base_url=env.gk.public) as c:
            flow = await start_browser_flow(c, "registration")
            back = await dance(c, flow, "idp")
            assert back.status_code == 303 and "/ui/login?flow=" in back.headers["location"]
            login = (await c.get("/self-service/login/flows", params={"id": flow_id(back.headers["location"])})).json()
            message = login["ui"]["messages"][0]
            assert message["id"] == Msg.INFO_LOGIN_LINK
            assert message["context"]["duplicate_identifier"] == "ada@example.com"
            assert message["context"]["provider"] == "Test IdP"
            identifier = next(n for n in login["ui"]["nodes"] if n["attributes"]["name"] == "identifier")
            assert identifier["attributes"]["type"] == "hidden"
            assert identifier["attributes"]["value"] == "ada@example.com"
            assert ("idp", 1010002, "Sign in with Test IdP") not in oidc_buttons(login)
            assert ("github", 1010018, "Confirm with GitHub") in oidc_buttons(login)
            assert await oidc_identity(env, "idp:user-1") is None  # no second identity
            done = await c.post(login["ui"]["action"], data={"csrf_token": csrf_value(login), "method": "password",
                                                             "identifier": "ada@example.com", "password": PASSWORD})
            assert done.status_code == 303 and done.headers["location"] == APP
        linked = await oidc_identity(env, "idp:user-1")
        assert linked.id == owner and "password" in linked.credentials
        async with httpx.AsyncClient(base_url=env.gk.public) as c:  # now the provider signs in to that account
            flow = await start_browser_flow(c, "login")
            assert (await dance(c, flow, "idp")).headers["location"] == APP
            assert (await c.get("/sessions/whoami")).json()["identity"]["id"] == owner


async def test_github_takes_only_a_verified_primary_email(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as c:
        flow = await start_browser_flow(c, "registration")
        assert (await dance(c, flow, "github")).headers["location"] == APP
        me = (await c.get("/sessions/whoami")).json()
        assert me["identity"]["traits"] == {"email": "octo@example.com", "name": {"first": "Octo"}}
    assert (await oidc_identity(env, "github:4242")).id == me["identity"]["id"]
    env.github.user = {"id": 777, "login": "newbie", "name": "New Bie"}
    env.github.emails = [{"email": "newbie@example.com", "primary": True, "verified": False},
                         {"email": "other@example.com", "primary": False, "verified": True}]
    async with httpx.AsyncClient(base_url=env.gk.public) as c:
        flow = await start_browser_flow(c, "registration")
        back = await dance(c, flow, "github")
        assert flow_id(back.headers["location"]) == flow["id"]  # back on the form: the e-mail is missing
        form = (await c.get("/self-service/registration/flows", params={"id": flow["id"]})).json()
        email = next(n for n in form["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
        assert "value" not in email["attributes"] and email["messages"][0]["id"] == Msg.ERR_VALIDATION_REQUIRED
    assert await oidc_identity(env, "github:777") is None


async def test_microsoft_multi_tenant_tokens_must_name_their_tenant(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as c:
        flow = await start_browser_flow(c, "registration")
        env.microsoft.faults = {"tid_mismatch"}  # iss names one tenant, tid another
        error = await error_of(c, await dance(c, flow, "entra"))
        assert "unexpected issuer" in error["reason"]
        env.microsoft.faults = set()
        flow = await start_browser_flow(c, "registration")
        assert (await dance(c, flow, "entra")).headers["location"] == APP
    assert await oidc_identity(env, "entra:user-1") is not None


async def test_spa_clients_get_422_with_the_provider_url_and_api_flows_are_refused(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as c:
        flow = await start_browser_flow(c, "login")
        resp = await c.post(flow["ui"]["action"], json={"csrf_token": csrf_value(flow), "provider": "idp"},
                            headers={"Accept": "application/json"})
        assert resp.status_code == 422
        body = resp.json()
        assert body["error"]["id"] == "browser_location_change_required"
        assert body["redirect_browser_to"].startswith(f"{env.idp.base}/authorize?")
        hinted = await c.post(flow["ui"]["action"], json={
            "csrf_token": csrf_value(flow), "provider": "idp",
            "upstream_parameters": {"hd": "example.com", "prompt": "select_account", "redirect_uri": "http://evil"}},
            headers={"Accept": "application/json"})
        sent = parse_qs(urlsplit(hinted.json()["redirect_browser_to"]).query)
        assert sent["hd"] == ["example.com"] and sent["prompt"] == ["select_account"]  # Kratos' allowed ones only
        assert sent["redirect_uri"] == [f"{env.gk.public}/self-service/methods/oidc/callback/idp"]
        unknown = await c.post(flow["ui"]["action"], json={"csrf_token": csrf_value(flow), "provider": "nope"},
                               headers={"Accept": "application/json"})
        assert unknown.status_code == 400 and "Unknown social sign-in provider" in str(unknown.json()["ui"])
    async with httpx.AsyncClient(base_url=env.gk.public) as native:
        api_flow = (await native.get("/self-service/login/api")).json()
        resp = await native.post(api_flow["ui"]["action"], json={"provider": "idp"})
        assert resp.status_code == 400 and "browser flow" in resp.json()["error"]["reason"]


async def test_the_identifier_first_style_offers_the_providers_on_its_first_step(sqlite_dsn: str, env_for: Any) -> None:
    style = {"selfservice": {"flows": {"login": {"style": "identifier_first"}}}}
    async with env_for(sqlite_dsn, style) as env, httpx.AsyncClient(base_url=env.gk.public) as c:
        flow = await start_browser_flow(c, "login")
        names = [n["attributes"]["name"] for n in flow["ui"]["nodes"]]
        assert "identifier" in names and "password" not in names
        assert ("idp", 1010002, "Sign in with Test IdP") in oidc_buttons(flow)
        assert (await dance(c, flow, "idp")).headers["location"] == APP  # first sign-in registers


async def test_through_the_proxy_prefix_and_with_registration_disabled(sqlite_dsn: str, env_for: Any) -> None:
    closed = {"selfservice": {"flows": {"registration": {"enabled": False}}}}
    async with env_for(sqlite_dsn, closed, base="proxy") as env, \
            httpx.AsyncClient(base_url=f"{env.gk.proxy}/.auth") as c:
        flow = await start_browser_flow(c, "login")
        callback = await at_provider(c, flow, "idp")
        assert callback.startswith(f"{env.gk.proxy}/.auth/self-service/methods/oidc/callback/idp?")
        error = await error_of(c, await c.get(callback))  # the sign-up the first sign-in needs is switched off
        assert error["id"] == "self_service_flow_disabled"
        assert await oidc_identity(env, "idp:user-1") is None


async def test_claims_from_userinfo_when_configured(sqlite_dsn: str, env_for: Any) -> None:
    """The name only the userinfo endpoint tells reaches the traits (the id_token's would say "Ada")."""
    from tests.oidc.conftest import mapper_url
    from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
    from tests.support.servers import serving

    idp = OidcProvider()
    idp.userinfo_extra = {"name": "Countess Ada"}
    async with serving(idp.app()) as url:
        idp.base = url
        only = {"selfservice": {"methods": {"oidc": {"config": {"providers": [
            {"id": "idp", "provider": "generic", "issuer_url": url, "client_id": CLIENT_ID,
             "client_secret": CLIENT_SECRET, "mapper_url": mapper_url(), "claims_source": "userinfo",
             "scope": ["email"]}]}}}}}
        async with env_for(sqlite_dsn, only) as env, httpx.AsyncClient(base_url=env.gk.public) as c:
            flow = await start_browser_flow(c, "registration")
            assert (await dance(c, flow, "idp")).headers["location"] == APP
            me = (await c.get("/sessions/whoami")).json()
            assert me["identity"]["traits"]["name"] == {"first": "Countess"}
            assert idp.authorize_requests[-1]["scope"] == "openid email"  # openid is added, as Kratos does
