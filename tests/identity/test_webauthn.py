"""The webauthn method: a security key (software authenticator on fido2) as a second factor, named and removed in
settings, stepping a session up to aal2; with `passwordless: true`, as a first factor found by the identifier.
Browser flows over JSON, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import ory_kratos_client as k
import pytest

from gatekeeper.identity.text_webauthn import WebauthnMsg
from tests.identity.conftest import PASSWORD, message_ids
from tests.identity.test_passkey import Browser, node
from tests.identity.test_sdk_browser import csrf_of
from tests.support.authenticator import SoftAuthenticator, b64url

ORIGIN = "https://app.example.test"


def keys(passwordless: bool = False) -> dict[str, Any]:
    rp = {"id": "app.example.test", "display_name": "Demo", "origins": [ORIGIN]}
    return {"selfservice": {"methods": {"webauthn": {"enabled": True, "config": {
        "rp": rp, "passwordless": passwordless}}}}}


async def register_with_password(browser: Browser, email: str) -> None:
    flow = await browser.flow("registration")
    shown = await browser.submit("registration", flow, {"method": "profile", "traits": {"email": email}})
    done = await browser.submit("registration", shown.json(), {"method": "password", "password": PASSWORD,
                                                               "traits": {"email": email}})
    assert done.status_code == 200, done.text


async def add_key(browser: Browser, auth: SoftAuthenticator, name: str) -> dict[str, Any]:
    flow = await browser.flow("settings")
    trigger = node(flow, "webauthn_register_trigger")
    assert trigger["attributes"]["onclickTrigger"] == "oryWebAuthnRegistration"
    assert trigger["meta"]["label"]["id"] == WebauthnMsg.INFO_SETTINGS_ADD_WEBAUTHN
    saved = await browser.submit("settings", flow, {
        "method": "webauthn", "webauthn_register_displayname": name,
        "webauthn_register": auth.create(json.loads(trigger["attributes"]["value"]))})
    assert saved.status_code == 200, saved.text
    body: dict[str, Any] = saved.json()
    return body


async def whoami(browser: Browser) -> httpx.Response:
    return await browser.client.get("/sessions/whoami")


async def test_a_security_key_is_a_second_factor(start: Callable[..., Any], dsn: str) -> None:
    async with start(keys(), dsn=dsn) as gk, httpx.AsyncClient(
            base_url=gk.public, headers={"Accept": "application/json"}) as client:
        browser, auth = Browser(client), SoftAuthenticator(origin=ORIGIN, uv=False)
        await register_with_password(browser, "ada@example.com")
        saved = await add_key(browser, auth, "YubiKey 5")
        remove = node(saved, "webauthn_remove")
        assert remove["meta"]["label"]["text"] == 'Remove security key "YubiKey 5"'
        assert remove["attributes"]["disabled"] is False  # a second factor never locks anyone out
        me = (await whoami(browser)).json()
        assert me["authenticator_assurance_level"] == "aal2"
        assert [(m["method"], m["aal"]) for m in me["authentication_methods"]] == [("password", "aal1"),
                                                                                  ("webauthn", "aal2")]

        client.cookies.clear()
        login = await browser.flow("login")
        signed = await browser.submit("login", login, {"method": "password", "identifier": "ada@example.com",
                                                       "password": PASSWORD})
        assert signed.status_code == 422 and "aal=aal2" in signed.json()["redirect_browser_to"]
        assert (await whoami(browser)).json()["error"]["id"] == "session_aal2_required"
        step = (await client.get("/self-service/login/browser", params={"aal": "aal2"})).json()
        trigger = node(step, "webauthn_login_trigger")
        options = json.loads(trigger["attributes"]["value"])
        assert [c["id"] for c in options["publicKey"]["allowCredentials"]] == [b64url(auth.credentials[0].id)]

        wrong = SoftAuthenticator("https://evil.example", credentials=auth.credentials)
        refused = await browser.submit("login", step, {"webauthn_login": wrong.get(options)})
        assert (refused.status_code, message_ids(refused.json())) == (400, [WebauthnMsg.ERR_VERIFIER_WRONG])
        # the rest as a UI server drives it, through Kratos' SDK (its strict models parse these flows)
        frontend = k.FrontendApi(k.ApiClient(k.Configuration(host=gk.public)))
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        fetched = await asyncio.to_thread(frontend.get_login_flow, step["id"], cookie=cookie)
        options = json.loads(node(fetched.to_dict(), "webauthn_login_trigger")["attributes"]["value"])
        body = k.UpdateLoginFlowBody(k.UpdateLoginFlowWithWebAuthnMethod(
            method="webauthn", identifier="ada@example.com", csrf_token=csrf_of(fetched),
            webauthn_login=auth.get(options)))
        upgraded = await asyncio.to_thread(frontend.update_login_flow, step["id"], body, cookie=cookie)
        assert upgraded.session.authenticator_assurance_level == "aal2"
        settings = await asyncio.to_thread(frontend.get_settings_flow,
                                           (await browser.flow("settings"))["id"], cookie=cookie)
        assert node(settings.to_dict(), "webauthn_register_trigger")["attributes"]["onclickTrigger"] == \
            "oryWebAuthnRegistration"
        me = (await whoami(browser)).json()
        assert me["authenticator_assurance_level"] == "aal2"
        assert [m["method"] for m in me["authentication_methods"]] == ["password", "webauthn"]
        await add_key(browser, SoftAuthenticator(origin=ORIGIN, uv=False), "Spare key")  # aal2 already: recorded too
        assert [(m["method"], m["aal"]) for m in (await whoami(browser)).json()["authentication_methods"]] == \
            [("password", "aal1"), ("webauthn", "aal2"), ("webauthn", "aal2")]

        settings = await browser.flow("settings")
        gone = await browser.submit("settings", settings,
                                    {"webauthn_remove": node(settings, "webauthn_remove")["attributes"]["value"]})
        assert gone.status_code == 200 and [n["meta"]["label"]["text"] for n in gone.json()["ui"]["nodes"]
                                            if n["attributes"].get("name") == "webauthn_remove"] == \
            ['Remove security key "Spare key"']


async def test_a_passwordless_security_key_signs_in_by_identifier(start: Callable[..., Any], dsn: str) -> None:
    async with start(keys(passwordless=True), dsn=dsn) as gk, httpx.AsyncClient(
            base_url=gk.public, headers={"Accept": "application/json"}) as client:
        browser, auth = Browser(client), SoftAuthenticator(origin=ORIGIN)
        await register_with_password(browser, "ada@example.com")
        await add_key(browser, auth, "Titan")
        me = (await whoami(browser)).json()  # the key just added counts as used, at aal1 (Kratos)
        assert me["authenticator_assurance_level"] == "aal1"
        assert [(m["method"], m["aal"]) for m in me["authentication_methods"]] == [("password", "aal1"),
                                                                                  ("webauthn", "aal1")]

        client.cookies.clear()
        login = await browser.flow("login")
        assert node(login, "identifier")["attributes"]["autocomplete"] == "username webauthn"
        assert any(n["attributes"].get("value") == "webauthn" for n in login["ui"]["nodes"])
        unknown = await browser.submit("login", login, {"method": "webauthn", "identifier": "bob@example.com"})
        assert (unknown.status_code, message_ids(unknown.json())) == (400, [WebauthnMsg.ERR_NO_WEBAUTHN_USER])
        moved = await browser.submit("login", login, {"method": "webauthn", "identifier": "ada@example.com"})
        assert moved.json()["error"]["id"] == "browser_location_change_required"
        flow = (await client.get("/self-service/login/flows", params={"id": login["id"]})).json()
        assert message_ids(flow) == [WebauthnMsg.INFO_LOGIN_PREPARE_DEVICE]
        options = json.loads(node(flow, "webauthn_login_trigger")["attributes"]["value"])
        done = await browser.submit("login", flow, {"method": "webauthn", "identifier": "ada@example.com",
                                                    "webauthn_login": auth.get(options)})
        assert done.status_code == 200, done.text
        assert [m["method"] for m in done.json()["session"]["authentication_methods"]] == ["webauthn"]


@pytest.mark.parametrize("passwordless", [False, True], ids=["second factor", "passwordless"])
async def test_api_flows_offer_no_security_key(start: Callable[..., Any], passwordless: bool) -> None:
    async with start(keys(passwordless)) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        flow = (await client.get("/self-service/login/api")).json()
        assert not [n for n in flow["ui"]["nodes"] if n["group"] == "webauthn"]


async def test_sign_up_with_a_passwordless_security_key(start: Callable[..., Any], dsn: str) -> None:
    overrides = keys(passwordless=True)
    overrides["selfservice"]["flows"] = {"registration": {"after": {"webauthn": {"hooks": [{"hook": "session"}]}}}}
    async with start(overrides, dsn=dsn) as gk, httpx.AsyncClient(
            base_url=gk.public, headers={"Accept": "application/json"}) as client:
        browser, auth = Browser(client), SoftAuthenticator(origin=ORIGIN)
        flow = await browser.flow("registration")
        assert not [n for n in flow["ui"]["nodes"] if n["group"] == "webauthn"]  # profile first
        screen = (await browser.submit("registration", flow, {"method": "profile",
                                                              "traits": {"email": "ada@example.com"}})).json()
        trigger = node(screen, "webauthn_register_trigger")
        assert trigger["meta"]["label"]["id"] == WebauthnMsg.INFO_REGISTRATION_WEBAUTHN
        options = json.loads(trigger["attributes"]["value"])
        done = await browser.submit("registration", screen, {
            "traits": {"email": "ada@example.com"}, "webauthn_register_displayname": "Titan",
            "webauthn_register": auth.create(options)})
        assert done.status_code == 200, done.text
        assert [m["method"] for m in done.json()["session"]["authentication_methods"]] == ["webauthn"]
        async with httpx.AsyncClient(base_url=gk.admin) as admin:
            ident = (await admin.get(f"/admin/identities/{done.json()['identity']['id']}",
                                     params={"include_credential": "webauthn"})).json()
        stored = ident["credentials"]["webauthn"]
        assert stored["identifiers"] == ["ada@example.com"]
