"""The passkey method end to end: a software authenticator (fido2) signs up and signs in through browser flows
over JSON, driven by Kratos' SDK the way a UI server drives them; bad answers are refused with Kratos' errors and
create nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import ory_kratos_client as k
import pytest

from gatekeeper.config import ConfigError, parse_config
from gatekeeper.identity.text_webauthn import WebauthnMsg
from tests.identity.conftest import PASSWORD, message_ids
from tests.identity.test_sdk_browser import CookieJar, csrf_of
from tests.support.authenticator import SoftAuthenticator, b64url
from tests.support.servers import Instance

ORIGIN = "https://app.example.test"
PASSKEY = {"selfservice": {
    "methods": {"passkey": {"enabled": True, "config": {"rp": {"id": "app.example.test", "display_name": "Demo",
                                                               "origins": [ORIGIN]}}}},
    "flows": {"registration": {"style": "unified", "after": {"passkey": {"hooks": [{"hook": "session"}]}}}}}}


def node(flow: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in flow["ui"]["nodes"] if n["attributes"].get("name", n["attributes"].get("id")) == name)


class Browser:
    """A browser talking JSON to the public API: its cookies, and the flows it starts."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def flow(self, kind: str) -> dict[str, Any]:
        resp = await self.client.get(f"/self-service/{kind}/browser")
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def submit(self, kind: str, flow: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
        csrf = node(flow, "csrf_token")["attributes"]["value"]
        return await self.client.post(f"/self-service/{kind}?flow={flow['id']}", json={"csrf_token": csrf, **body})

    async def sign_up(self, auth: SoftAuthenticator, email: str) -> httpx.Response:
        flow = await self.flow("registration")
        create = json.loads(node(flow, "passkey_create_data")["attributes"]["value"])
        return await self.submit("registration", flow, {"traits": {"email": email},
                                                        "passkey_register": auth.create(create["credentialOptions"])})


@pytest.fixture
async def gk(start: Callable[..., Any], dsn: str) -> AsyncIterator[Instance]:
    async with start(PASSKEY, dsn=dsn) as instance:
        yield instance


@pytest.fixture
async def browser(gk: Instance) -> AsyncIterator[Browser]:
    async with httpx.AsyncClient(base_url=gk.public, headers={"Accept": "application/json"}) as client:
        yield Browser(client)


async def count_identities(gk: Instance) -> int:
    async with httpx.AsyncClient(base_url=gk.admin) as admin:
        return len((await admin.get("/admin/identities")).json())


async def test_sign_up_and_sign_in_with_a_passkey_through_the_sdk(gk: Instance) -> None:
    frontend = k.FrontendApi(k.ApiClient(k.Configuration(host=gk.public)))
    auth, jar = SoftAuthenticator(origin=ORIGIN), CookieJar()
    init = await asyncio.to_thread(frontend.create_browser_registration_flow_with_http_info)
    jar.take(init.headers)
    flow = await asyncio.to_thread(frontend.get_registration_flow, init.data.id, cookie=jar.header)
    raw = flow.to_dict()
    create = json.loads(node(raw, "passkey_create_data")["attributes"]["value"])
    assert create["displayNameFieldName"] == "traits.email"
    assert create["credentialOptions"]["publicKey"]["authenticatorSelection"]["residentKey"] == "required"
    trigger = node(raw, "passkey_register_trigger")["attributes"]
    assert (trigger["onclickTrigger"], node(raw, "passkey_register_trigger")["meta"]["label"]["id"]) == \
        ("oryPasskeyRegistration", WebauthnMsg.INFO_REGISTRATION_PASSKEY)
    body = k.UpdateRegistrationFlowBody(k.UpdateRegistrationFlowWithPasskeyMethod(
        method="passkey", traits={"email": "pat@example.com"}, csrf_token=csrf_of(flow),
        passkey_register=auth.create(create["credentialOptions"])))
    done = await asyncio.to_thread(frontend.update_registration_flow_with_http_info, flow.id, body, cookie=jar.header)
    assert done.data.identity.traits["email"] == "pat@example.com"
    assert done.data.session.authentication_methods[0].method == "passkey"

    jar = CookieJar()  # another browser: sign in with the passkey alone (no identifier typed)
    login = await asyncio.to_thread(frontend.create_browser_login_flow_with_http_info)
    jar.take(login.headers)
    fetched = (await asyncio.to_thread(frontend.get_login_flow, login.data.id, cookie=jar.header))
    raw = fetched.to_dict()
    assert node(raw, "identifier")["attributes"]["autocomplete"] == "username webauthn"
    assert node(raw, "passkey_login")["attributes"]["onloadTrigger"] == "oryPasskeyLoginAutocompleteInit"
    assert node(raw, "passkey_login_trigger")["meta"]["label"]["id"] == WebauthnMsg.INFO_LOGIN_PASSKEY
    ok = await sign_in(frontend, fetched, raw, auth, jar)
    assert ok.session.authenticator_assurance_level == "aal1"


async def sign_in(frontend: k.FrontendApi, flow: k.LoginFlow, screen: dict[str, Any], auth: SoftAuthenticator,
                  jar: CookieJar) -> k.SuccessfulNativeLogin:
    """Answer the challenge `screen` shows with the passkey, through the SDK: pat@example.com, by passkey alone."""
    options = json.loads(node(screen, "passkey_challenge")["attributes"]["value"])
    signin = k.UpdateLoginFlowBody(k.UpdateLoginFlowWithPasskeyMethod(
        method="passkey", csrf_token=csrf_of(flow), passkey_login=auth.get(options)))
    ok: k.SuccessfulNativeLogin = await asyncio.to_thread(frontend.update_login_flow, flow.id, signin,
                                                          cookie=jar.header)
    assert ok.session.identity.traits["email"] == "pat@example.com"
    assert [m.method for m in ok.session.authentication_methods] == ["passkey"]
    return ok


async def test_the_script_is_served_with_the_integrity_the_nodes_name(gk: Instance, browser: Browser) -> None:
    flow = await browser.flow("login")
    script = node(flow, "webauthn_script")["attributes"]
    assert script["src"] == gk.public + "/.well-known/ory/webauthn.js" and script["type"] == "text/javascript"
    resp = await browser.client.get("/.well-known/ory/webauthn.js")
    assert resp.headers["content-type"].startswith("text/javascript")
    assert script["integrity"] == "sha512-" + base64.b64encode(hashlib.sha512(resp.content).digest()).decode()
    page = await browser.client.get("/ui/login", params={"flow": flow["id"]}, headers={"Accept": "text/html"})
    assert "default-src 'none'; script-src 'self';" in page.headers["content-security-policy"]  # no inline code
    assert f'<script src="{script["src"]}" integrity="{script["integrity"]}"' in page.text
    assert 'data-ory-trigger="oryPasskeyLogin"' in page.text and "onclick" not in page.text
    for function in ("PasskeyLogin", "PasskeyLoginAutocompleteInit", "PasskeyRegistration",
                     "PasskeySettingsRegistration", "WebAuthnLogin", "WebAuthnRegistration"):  # window.ory<name>
        assert f"{function}: " in resp.text


async def test_api_flows_offer_no_passkey_and_refuse_one(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as client:
        flow = (await client.get("/self-service/login/api")).json()
        assert not [n for n in flow["ui"]["nodes"] if n["group"] in ("passkey", "webauthn")]
        resp = await client.post(f"/self-service/login?flow={flow['id']}",
                                 json={"method": "passkey", "passkey_login": "{}"})
    assert resp.status_code == 400 and message_ids(resp.json()) == [4010002]


async def signed_up(browser: Browser) -> SoftAuthenticator:
    auth = SoftAuthenticator(origin=ORIGIN)
    done = await browser.sign_up(auth, "pat@example.com")
    assert done.status_code == 200, done.text
    browser.client.cookies.clear()
    return auth


async def test_replayed_and_counterfeit_answers_are_refused(gk: Instance, browser: Browser) -> None:
    auth = await signed_up(browser)
    first = await browser.flow("login")
    options = json.loads(node(first, "passkey_challenge")["attributes"]["value"])
    answer = auth.get(options)
    assert (await browser.submit("login", first, {"method": "passkey", "passkey_login": answer})).status_code == 200
    browser.client.cookies.clear()

    cases = [
        ("replayed on a new flow", lambda o: answer, WebauthnMsg.ERR_VERIFIER_WRONG),
        ("tampered signature", lambda o: auth.get(o, tamper=True), WebauthnMsg.ERR_VERIFIER_WRONG),
        ("wrong origin", lambda o: SoftAuthenticator("https://evil.example", credentials=auth.credentials).get(o),
         WebauthnMsg.ERR_VERIFIER_WRONG),
        ("wrong RP ID", lambda o: SoftAuthenticator(ORIGIN, rp_id="evil.example",
                                                    credentials=auth.credentials).get(o),
         WebauthnMsg.ERR_VERIFIER_WRONG),
        ("counter going backwards", lambda o: auth.get(o, counter=1), WebauthnMsg.ERR_VERIFIER_WRONG),
        ("unknown credential id", lambda o: _unknown_key(auth, o), WebauthnMsg.ERR_VERIFIER_WRONG),
        ("unknown user handle", lambda o: _stranger(o), WebauthnMsg.ERR_NO_WEBAUTHN_USER),
    ]
    for name, answer_for, expected in cases:
        flow = await browser.flow("login")
        options = json.loads(node(flow, "passkey_challenge")["attributes"]["value"])
        resp = await browser.submit("login", flow, {"method": "passkey", "passkey_login": answer_for(options)})
        assert (resp.status_code, message_ids(resp.json())) == (400, [expected]), name
        assert "ory_kratos_session" not in browser.client.cookies, name
        renewed = json.loads(node(resp.json(), "passkey_challenge")["attributes"]["value"])
        assert renewed["publicKey"]["challenge"] != options["publicKey"]["challenge"], name  # single use


def _unknown_key(auth: SoftAuthenticator, options: dict[str, Any]) -> str:
    stranger = SoftAuthenticator(ORIGIN)
    stranger.create({"publicKey": {"rp": {"id": "app.example.test"}, "challenge": "AA",
                                   "user": {"id": b64url(auth.credentials[0].user_handle)}}})
    return stranger.get(options)


def _stranger(options: dict[str, Any]) -> str:
    """A passkey of this RP that no identity has."""
    stranger = SoftAuthenticator(ORIGIN)
    stranger.create({"publicKey": {"rp": {"id": "app.example.test"}, "challenge": "AA", "user": {"id": "c3RyYW5nZXI"}}})
    return stranger.get(options)


async def test_the_passkey_button_without_an_answer_sends_the_browser_back_to_the_flow(browser: Browser) -> None:
    flow = await browser.flow("login")
    resp = await browser.submit("login", flow, {"method": "passkey"})
    assert resp.status_code == 422 and resp.json()["error"]["id"] == "browser_location_change_required"
    assert resp.json()["redirect_browser_to"].endswith(f"/ui/login?flow={flow['id']}")
    again = (await browser.client.get("/self-service/login/flows", params={"id": flow["id"]})).json()
    assert {n["attributes"].get("name", n["attributes"].get("id")) for n in again["ui"]["nodes"]} == {
        "csrf_token", "identifier", "passkey_challenge", "webauthn_script", "passkey_login", "passkey_login_trigger"}


async def test_a_challenge_verifies_once_even_on_the_same_flow(gk: Instance, browser: Browser) -> None:
    auth = await signed_up(browser)
    flow = await browser.flow("login")
    options = json.loads(node(flow, "passkey_challenge")["attributes"]["value"])
    bad = await browser.submit("login", flow, {"method": "passkey", "passkey_login": auth.get(options, tamper=True)})
    assert bad.status_code == 400
    again = await browser.submit("login", flow, {"method": "passkey", "passkey_login": auth.get(options)})
    assert (again.status_code, message_ids(again.json())) == (400, [WebauthnMsg.ERR_VERIFIER_WRONG])


@pytest.mark.parametrize(("name", "auth"), [
    pytest.param("wrong origin", SoftAuthenticator("https://evil.example"), id="wrong origin"),
    pytest.param("wrong RP ID", SoftAuthenticator(ORIGIN, rp_id="evil.example"), id="wrong RP ID"),
])
async def test_registration_answers_that_do_not_verify_create_nothing(gk: Instance, browser: Browser, name: str,
                                                                      auth: SoftAuthenticator) -> None:
    resp = await browser.sign_up(auth, "mallory@example.com")
    assert resp.status_code == 500 and resp.json()["error"]["reason"].startswith("Unable to create WebAuthn credential")
    assert await count_identities(gk) == 0


async def test_registration_replayed_on_another_flow_creates_nothing(gk: Instance, browser: Browser) -> None:
    auth = SoftAuthenticator(origin=ORIGIN)
    flow = await browser.flow("registration")
    create = json.loads(node(flow, "passkey_create_data")["attributes"]["value"])
    answer = auth.create(create["credentialOptions"])
    other = await browser.flow("registration")
    resp = await browser.submit("registration", other, {"traits": {"email": "pat@example.com"},
                                                        "passkey_register": answer})
    assert resp.status_code == 500 and await count_identities(gk) == 0
    unreadable = await browser.submit("registration", other, {"traits": {"email": "pat@example.com"},
                                                              "passkey_register": "not json"})
    assert unreadable.status_code == 400 and "Unable to parse WebAuthn response" in unreadable.json()["error"]["reason"]


async def test_profile_first_offers_the_passkey_on_the_credential_screen(start: Callable[..., Any]) -> None:
    overrides = json.loads(json.dumps(PASSKEY))
    overrides["selfservice"]["flows"]["registration"]["style"] = "profile_first"
    async with start(overrides) as gk, httpx.AsyncClient(base_url=gk.public,
                                                         headers={"Accept": "application/json"}) as client:
        browser = Browser(client)
        flow = await browser.flow("registration")
        assert not [n for n in flow["ui"]["nodes"] if n["group"] == "passkey"]
        shown = await browser.submit("registration", flow, {"method": "profile", "traits": {"email": "p@example.com"}})
        screen = shown.json()
        create = json.loads(node(screen, "passkey_create_data")["attributes"]["value"])
        done = await browser.submit("registration", screen, {
            "traits": {"email": "p@example.com"},
            "passkey_register": SoftAuthenticator(ORIGIN).create(create["credentialOptions"])})
        assert done.status_code == 200, done.text


async def test_identifier_first_offers_the_passkey_on_both_screens(start: Callable[..., Any], dsn: str) -> None:
    """As Kratos: the autofill nodes on the identifier screen, "Sign in with passkey" after the identifier (for
    any identifier: account enumeration is always mitigated), signing in with the first screen's challenge."""
    overrides = json.loads(json.dumps(PASSKEY))
    overrides["selfservice"]["flows"]["login"] = {"style": "identifier_first"}
    async with start(overrides, dsn=dsn) as gk, httpx.AsyncClient(
            base_url=gk.public, headers={"Accept": "application/json"}) as client:
        auth = SoftAuthenticator(origin=ORIGIN)
        assert (await Browser(client).sign_up(auth, "pat@example.com")).status_code == 200
        client.cookies.clear()
        frontend = k.FrontendApi(k.ApiClient(k.Configuration(host=gk.public)))
        jar = CookieJar()
        init = await asyncio.to_thread(frontend.create_browser_login_flow_with_http_info)
        jar.take(init.headers)
        first = await asyncio.to_thread(frontend.get_login_flow, init.data.id, cookie=jar.header)
        assert names(first.to_dict(), "webauthn", "passkey") == ["webauthn_script", "passkey_login",
                                                                 "passkey_challenge"]
        screens = []
        for who in ("pat@example.com", "nobody@example.com"):
            body = k.UpdateLoginFlowBody(k.UpdateLoginFlowWithIdentifierFirstMethod(
                method="identifier_first", identifier=who, csrf_token=csrf_of(first)))
            with pytest.raises(k.exceptions.BadRequestException) as shown:
                await asyncio.to_thread(frontend.update_login_flow, first.id, body, cookie=jar.header)
            screen = json.loads(shown.value.body)  # (`active: identifier_first` is not in the SDK's enum)
            screens.append(names(screen, "webauthn", "passkey"))
        assert screens[0] == screens[1] == ["webauthn_script", "passkey_login", "passkey_login_trigger",
                                            "passkey_challenge"]
        trigger = node(screen, "passkey_login_trigger")
        assert (trigger["attributes"]["onclickTrigger"], trigger["meta"]["label"]["id"]) == \
            ("oryPasskeyLogin", WebauthnMsg.INFO_LOGIN_PASSKEY)
        assert node(screen, "passkey_challenge")["attributes"]["value"] == \
            node(first.to_dict(), "passkey_challenge")["attributes"]["value"]
        await sign_in(frontend, first, screen, auth, jar)


def test_an_enabled_passkey_method_needs_its_relying_party() -> None:
    text = "dsn: memory\nselfservice:\n  methods:\n    passkey:\n      enabled: true\n      config:\n        rp:\n" \
           "          origins: [https://app.example.test]\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, name="gk.yaml", env={}, dev=True)
    assert [str(p) for p in caught.value.problems] == [
        "gk.yaml:7: selfservice.methods.passkey.config.rp.id: is required when selfservice.methods.passkey.enabled "
        "is true",
        "gk.yaml:7: selfservice.methods.passkey.config.rp.display_name: is required when "
        "selfservice.methods.passkey.enabled is true"]


async def test_settings_list_add_and_remove_passkeys_but_never_the_last(gk: Instance, browser: Browser) -> None:
    auth = SoftAuthenticator(origin=ORIGIN)
    assert (await browser.sign_up(auth, "pat@example.com")).status_code == 200  # the browser keeps its session
    flow = await browser.flow("settings")
    only = node(flow, "passkey_remove")
    assert only["attributes"]["disabled"] is True and only["meta"]["label"]["id"] == \
        WebauthnMsg.INFO_SETTINGS_REMOVE_PASSKEY
    assert only["attributes"]["value"] == auth.credentials[0].id.hex()
    refused = await browser.submit("settings", flow, {"passkey_remove": only["attributes"]["value"]})
    assert (refused.status_code, message_ids(refused.json())) == (400, [4000001])

    frontend = k.FrontendApi(k.ApiClient(k.Configuration(host=gk.public)))
    cookie = "; ".join(f"{name}={value}" for name, value in browser.client.cookies.items())
    fetched = await asyncio.to_thread(frontend.get_settings_flow, flow["id"], cookie=cookie)
    create = json.loads(node(fetched.to_dict(), "passkey_create_data")["attributes"]["value"])
    assert create["publicKey"]["user"]["name"] == "pat@example.com"
    assert create["publicKey"]["excludeCredentials"][0]["id"] == b64url(auth.credentials[0].id)
    body = k.UpdateSettingsFlowBody(k.UpdateSettingsFlowWithPasskeyMethod(
        method="passkey", csrf_token=csrf_of(fetched), passkey_settings_register=auth.create(create)))
    saved = await asyncio.to_thread(frontend.update_settings_flow, flow["id"], body, cookie=cookie)
    assert saved.state == "success"
    me = await asyncio.to_thread(frontend.to_session, cookie=cookie)  # adding a passkey used it, as in Kratos
    assert [(m.method, m.aal) for m in me.authentication_methods] == [("passkey", "aal1"), ("passkey", "aal1")]
    assert me.authenticator_assurance_level == "aal1"
    removes = [n for n in saved.to_dict()["ui"]["nodes"] if n["attributes"].get("name") == "passkey_remove"]
    assert [n["attributes"]["disabled"] for n in removes] == [False, False]

    gone = await browser.submit("settings", saved.to_dict(), {"passkey_remove": auth.credentials[0].id.hex()})
    assert gone.status_code == 200 and gone.json()["state"] == "success"
    kept_methods = await asyncio.to_thread(frontend.to_session, cookie=cookie)  # removing one proves nothing
    assert [m.method for m in kept_methods.authentication_methods] == ["passkey", "passkey"]
    left = [n for n in gone.json()["ui"]["nodes"] if n["attributes"].get("name") == "passkey_remove"]
    assert [(n["attributes"]["value"], n["attributes"]["disabled"]) for n in left] == \
        [(auth.credentials[1].id.hex(), True)]

    browser.client.cookies.clear()
    login = await browser.flow("login")
    options = json.loads(node(login, "passkey_challenge")["attributes"]["value"])
    removed = await browser.submit("login", login, {"passkey_login": auth.get(options, auth.credentials[0])})
    assert (removed.status_code, message_ids(removed.json())) == (400, [WebauthnMsg.ERR_VERIFIER_WRONG])
    options = json.loads(node(removed.json(), "passkey_challenge")["attributes"]["value"])
    kept = await browser.submit("login", removed.json(), {"passkey_login": auth.get(options, auth.credentials[1])})
    assert kept.status_code == 200, kept.text


def names(flow: dict[str, Any], *groups: str) -> list[str]:
    return [n["attributes"].get("name", n["attributes"].get("id")) for n in flow["ui"]["nodes"] if n["group"] in groups]


async def test_nodes_come_in_kratos_order(browser: Browser) -> None:
    """As Kratos v25.4's snapshots of whole flows (TestCompleteLogin / TestRegistration passkey_button_exists)."""
    login = await browser.flow("login")
    assert names(login, "webauthn", "passkey") == ["webauthn_script", "passkey_login_trigger", "passkey_login",
                                                   "passkey_challenge"]
    registration = await browser.flow("registration")
    assert names(registration, "webauthn", "passkey") == ["webauthn_script", "passkey_register_trigger",
                                                          "passkey_register", "passkey_create_data"]


async def test_a_refresh_login_offers_the_passkey_only_to_an_identity_that_has_one(browser: Browser) -> None:
    """As Kratos: no passkey nodes to refresh a password identity; with a passkey, a challenge naming its key,
    the button, the hidden identifier, and the answer re-authenticates the same session."""
    flow = await browser.flow("registration")
    done = await browser.submit("registration", flow, {"method": "password", "password": PASSWORD,
                                                       "traits": {"email": "pw@example.com"}})
    assert done.status_code == 200, done.text
    refresh = (await browser.client.get("/self-service/login/browser", params={"refresh": "true"})).json()
    assert refresh["refresh"] is True and names(refresh, "webauthn", "passkey") == []
    browser.client.cookies.clear()
    auth = SoftAuthenticator(origin=ORIGIN)
    assert (await browser.sign_up(auth, "pat@example.com")).status_code == 200
    before = (await browser.client.get("/sessions/whoami")).json()
    refresh = (await browser.client.get("/self-service/login/browser", params={"refresh": "true"})).json()
    assert names(refresh, "webauthn", "passkey") == ["webauthn_script", "passkey_login_trigger", "passkey_login",
                                                     "passkey_challenge"]
    assert node(refresh, "identifier")["attributes"] | {"value": "pat@example.com", "type": "hidden"} == \
        node(refresh, "identifier")["attributes"]
    options = json.loads(node(refresh, "passkey_challenge")["attributes"]["value"])
    assert [c["id"] for c in options["publicKey"]["allowCredentials"]] == [b64url(auth.credentials[0].id)]
    ok = await browser.submit("login", refresh, {"method": "passkey", "passkey_login": auth.get(options)})
    assert ok.status_code == 200, ok.text
    after = ok.json()["session"]
    assert after["id"] == before["id"] and after["authenticated_at"] > before["authenticated_at"]
    assert [m["method"] for m in after["authentication_methods"]] == ["passkey", "passkey"]


async def test_a_refresh_takes_precedence_over_the_identifier_first_style(start: Callable[..., Any]) -> None:
    """As Kratos: the refresh login of a passkey-only identity is the passkey's refresh form, not the first screen."""
    overrides = json.loads(json.dumps(PASSKEY))
    overrides["selfservice"]["flows"]["login"] = {"style": "identifier_first"}
    async with start(overrides) as gk, httpx.AsyncClient(base_url=gk.public,
                                                         headers={"Accept": "application/json"}) as client:
        assert (await Browser(client).sign_up(SoftAuthenticator(origin=ORIGIN), "pat@example.com")).status_code == 200
        refresh = (await client.get("/self-service/login/browser", params={"refresh": "true"})).json()
        assert names(refresh, "default", "identifier_first", "passkey") == [
            "csrf_token", "identifier", "passkey_login_trigger", "passkey_login", "passkey_challenge"]
