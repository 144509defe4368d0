"""Native apps (API flows) sign in with the id_token they got from the provider: Kratos' `id_token` and
`id_token_nonce` fields, verified against the provider's keys; or in a browser, getting the session token
through Kratos' session token exchange code."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import ory_kratos_client as k

from tests.identity.conftest import PASSWORD
from tests.identity.test_browser_flows import register_html
from tests.oidc.conftest import Env
from tests.oidc.test_social_sign_in import APP, oidc_identity


async def api_flow(c: httpx.AsyncClient, kind: str) -> dict:
    resp = await c.get(f"/self-service/{kind}/api")
    assert resp.status_code == 200
    return resp.json()


async def test_native_sign_in_with_an_id_token(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as app:
        flow = await api_flow(app, "login")
        first = await app.post(flow["ui"]["action"], json={
            "method": "oidc", "provider": "idp", "id_token": env.idp.id_token(nonce="n-1"), "id_token_nonce": "n-1"})
        assert first.status_code == 200, first.text
        token = first.json()["session_token"]
        me = (await app.get("/sessions/whoami", headers={"X-Session-Token": token})).json()
        assert me["identity"]["traits"]["email"] == "ada@example.com"
        assert (await oidc_identity(env, "idp:user-1")).id == me["identity"]["id"]
        flow = await api_flow(app, "login")
        again = await app.post(flow["ui"]["action"], json={
            "provider": "idp", "id_token": env.idp.id_token(nonce="n-2"), "id_token_nonce": "n-2"})
        assert again.json()["session"]["identity"]["id"] == me["identity"]["id"]


async def test_native_id_tokens_that_do_not_verify_are_refused(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as app:
        cases = [({"id_token": env.idp.id_token(nonce="a"), "id_token_nonce": "b"}, "does not match the nonce"),
                 ({"id_token": env.idp.id_token(nonce="a")}, "No nonce was provided"),
                 ({"id_token": env.idp.id_token(), "id_token_nonce": "a"}, "No nonce was included"),
                 ({"id_token": "not-a-jwt", "id_token_nonce": "a"}, "not a valid JSON Web Token")]
        env.idp.faults = {"bad_signature"}
        cases.append(({"id_token": env.idp.id_token(nonce="a"), "id_token_nonce": "a"}, "signature is invalid"))
        env.idp.faults = set()
        for extra, reason in cases:
            flow = await api_flow(app, "login")
            resp = await app.post(flow["ui"]["action"], json={"provider": "idp", **extra})
            assert resp.status_code == 400 and reason in resp.json()["error"]["reason"], (extra, resp.text)
        flow = await api_flow(app, "login")
        github = await app.post(flow["ui"]["action"], json={"provider": "github", "id_token": "x",
                                                            "id_token_nonce": "a"})
        assert "does not support id_token verification" in github.json()["error"]["reason"]
    assert await oidc_identity(env, "idp:user-1") is None


async def test_native_registration_with_a_taken_address_asks_to_sign_in_first(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as browser:
        assert (await register_html(browser, "ada@example.com")).status_code == 303
    async with httpx.AsyncClient(base_url=env.gk.public) as app:
        flow = await api_flow(app, "registration")
        resp = await app.post(flow["ui"]["action"], json={
            "provider": "idp", "id_token": env.idp.id_token(nonce="n"), "id_token_nonce": "n"})
        assert resp.status_code == 400
        assert [m["id"] for m in resp.json()["ui"]["messages"]] == [4000027]
        # signing in with the password still works, and no second identity appeared
        login = await api_flow(app, "login")
        ok = await app.post(login["ui"]["action"], json={"method": "password", "identifier": "ada@example.com",
                                                         "password": PASSWORD})
        assert ok.status_code == 200
    assert await oidc_identity(env, "idp:user-1") is None


async def test_a_native_app_gets_its_session_token_through_the_exchange_code(env: Env) -> None:
    """Kratos' return_session_token_exchange_code, driven with the official SDK where it has the calls."""
    sdk = k.FrontendApi(k.ApiClient(k.Configuration(host=env.gk.public)))
    flow = await asyncio.to_thread(sdk.create_native_login_flow, return_session_token_exchange_code=True,
                                   return_to=APP)
    init_code = flow.session_token_exchange_code
    assert init_code
    async with httpx.AsyncClient(base_url=env.gk.public) as app, httpx.AsyncClient() as browser:
        stored = (await app.get("/self-service/login/flows", params={"id": flow.id})).json()
        assert "session_token_exchange_code" not in stored  # shown once
        started = await app.post(flow.ui.action, json={"method": "oidc", "provider": "idp"})
        assert started.status_code == 422, started.text
        at_idp = await browser.get(started.json()["redirect_browser_to"])
        back = await browser.get(at_idp.headers["location"])
        assert back.status_code == 303 and back.headers["location"].startswith(APP + "?code=")
        assert "ory_kratos_session" not in back.headers.get("set-cookie", "")  # the app gets the session
        return_to_code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        wrong = await app.get("/sessions/token-exchange", params={"init_code": init_code, "return_to_code": "x"})
        assert wrong.status_code == 404 and wrong.json()["error"]["reason"] == 'no session yet for this "code"'
        done = await asyncio.to_thread(sdk.exchange_session_token, init_code, return_to_code)
        me = (await app.get("/sessions/whoami", headers={"X-Session-Token": done.session_token})).json()
        assert me["identity"]["traits"]["email"] == "ada@example.com" == done.session.identity.traits["email"]
        again = await app.get("/sessions/token-exchange", params={"init_code": init_code,
                                                                  "return_to_code": return_to_code})
        assert again.status_code == 404  # once
        missing = await app.get("/sessions/token-exchange", params={"init_code": init_code})
        assert missing.status_code == 400
        plain = (await app.get("/self-service/login/api")).json()  # without the flag: no redirects for API flows
        refused = await app.post(plain["ui"]["action"], json={"provider": "idp"})
        assert refused.status_code == 400 and "session_token_exchange_code" not in plain
