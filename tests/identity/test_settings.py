"""The settings flow over HTTP (API flows with a session token; a browser flow with cookies) on SQLite and
PostgreSQL: profile, password (policy, privileged session, revoke_active_sessions), lookup codes, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from gatekeeper.identity.text import Msg
from gatekeeper.identity.text_settings import SettingsMsg
from tests.identity.conftest import PASSWORD

MFA = {"selfservice": {"methods": {"totp": {"enabled": True}, "lookup_secret": {"enabled": True}}}}


async def register(http: httpx.AsyncClient, email: str) -> str:
    flow = (await http.get("/self-service/registration/api")).json()
    r = await http.post(f"/self-service/registration?flow={flow['id']}",
                        json={"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert r.status_code == 200, r.text
    return str(r.json()["session_token"])


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    flow = (await http.get("/self-service/login/api")).json()
    return await http.post(f"/self-service/login?flow={flow['id']}",
                           json={"method": "password", "identifier": email, "password": password})


async def settings(http: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    flow = (await http.get("/self-service/settings/api", headers={"X-Session-Token": token})).json()
    return await http.post(f"/self-service/settings?flow={flow['id']}", json=body,
                           headers={"X-Session-Token": token})


def node_messages(flow: dict[str, Any], name: str) -> list[int]:
    return [m["id"] for n in flow["ui"]["nodes"] if n["attributes"].get("name") == name for m in n["messages"]]


async def test_profile_and_password(start: Callable[..., Any], dsn: str) -> None:
    overrides = {"selfservice": {"flows": {"settings": {"after": {"password": {
        "hooks": [{"hook": "revoke_active_sessions"}]}}}}}}
    async with start(overrides, dsn=dsn) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        token = await register(http, "settings@example.com")
        other = (await login(http, "settings@example.com")).json()["session_token"]
        flow = (await http.get("/self-service/settings/api", headers={"X-Session-Token": token})).json()
        assert flow["state"] == "show_form" and flow["identity"]["traits"]["email"] == "settings@example.com"
        assert {n["group"] for n in flow["ui"]["nodes"]} >= {"profile", "password"}
        # the schema still applies: a broken e-mail is refused on its node
        bad = await http.post(f"/self-service/settings?flow={flow['id']}", headers={"X-Session-Token": token},
                              json={"method": "profile", "traits": {"email": "not-an-email"}})
        assert bad.status_code == 400 and node_messages(bad.json(), "traits.email")
        ok = await http.post(f"/self-service/settings?flow={flow['id']}", headers={"X-Session-Token": token},
                             json={"method": "profile", "traits": {"email": "renamed@example.com"}})
        assert ok.status_code == 200 and ok.json()["state"] == "success"
        assert [m["id"] for m in ok.json()["ui"]["messages"]] == [SettingsMsg.INFO_SETTINGS_SAVED]
        assert (await login(http, "renamed@example.com")).status_code == 200  # the identifier moved
        whoami = await http.get("/sessions/whoami", headers={"X-Session-Token": token})
        fresh = (await http.get("/self-service/settings/api", headers={"X-Session-Token": token})).json()
        assert fresh["identity"]["traits"]["email"] == "renamed@example.com"  # the traits themselves were stored
        assert whoami.status_code == 200
        # password: policy, then must differ, then saved; other sessions are revoked by the hook
        short = await settings(http, token, {"method": "password", "password": "short"})
        assert short.status_code == 400 and node_messages(short.json(), "password") == [Msg.ERR_PASSWORD_TOO_SHORT]
        same = await settings(http, token, {"method": "password", "password": PASSWORD})
        assert node_messages(same.json(), "password") == [SettingsMsg.ERR_PASSWORD_SAME]
        changed = await settings(http, token, {"method": "password", "password": "a-much-newer-passphrase-77"})
        assert changed.status_code == 200, changed.text
        assert (await login(http, "renamed@example.com")).status_code == 400
        assert (await login(http, "renamed@example.com", "a-much-newer-passphrase-77")).status_code == 200
        assert (await http.get("/sessions/whoami", headers={"X-Session-Token": token})).status_code == 200
        assert (await http.get("/sessions/whoami", headers={"X-Session-Token": other})).status_code == 401


async def test_privileged_session_required(start: Callable[..., Any]) -> None:
    overrides = {"selfservice": {**MFA["selfservice"], "flows": {"settings": {"privileged_session_max_age": "1s"}}}}
    async with start(overrides) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        token = await register(http, "old@example.com")
        await asyncio.sleep(1.2)
        r = await settings(http, token, {"method": "password", "password": "a-much-newer-passphrase-77"})
        assert r.status_code == 403
        assert r.json()["error"]["id"] == "session_refresh_required"
        assert "/self-service/login/browser?refresh=true" in r.json()["redirect_browser_to"]
        # a profile change that keeps identifiers and addresses needs no fresh login
        same = await settings(http, token, {"method": "profile", "traits": {"email": "old@example.com"}})
        assert same.status_code == 200
        # a submission its method does not claim is refused as such before any fresh login is asked for (Kratos
        # asks its strategies for responsibility first): a lookup_secret_* field that is none of its actions
        r = await settings(http, token, {"lookup_secret_foo": "true"})
        assert r.status_code == 400, r.text
        assert [m["id"] for m in r.json()["ui"]["messages"]] == [SettingsMsg.ERR_SETTINGS_NO_STRATEGY]


async def test_settings_without_session_and_foreign_flow(start: Callable[..., Any]) -> None:
    async with start() as gk, httpx.AsyncClient(base_url=gk.public) as http:
        r = await http.get("/self-service/settings/api")
        assert r.status_code == 401 and r.json()["error"]["id"] == "session_inactive"
        browser = await http.get("/self-service/settings/browser")
        assert browser.status_code == 303 and "/self-service/login/browser" in browser.headers["location"]
        mine = await register(http, "mine@example.com")
        theirs = await register(http, "theirs@example.com")
        flow = (await http.get("/self-service/settings/api", headers={"X-Session-Token": mine})).json()
        r = await http.get("/self-service/settings/flows", params={"id": flow["id"]},
                           headers={"X-Session-Token": theirs})
        assert r.status_code == 403 and r.json()["error"]["id"] == "security_identity_mismatch"
        r = await http.post(f"/self-service/settings?flow={flow['id']}", json={"method": "profile"})
        assert r.status_code == 401
        r = await http.post(f"/self-service/settings?flow={flow['id']}", json={"method": "nonsense"},
                            headers={"X-Session-Token": mine})
        assert r.status_code == 400 and [m["id"] for m in r.json()["ui"]["messages"]] == [
            SettingsMsg.ERR_SETTINGS_NO_STRATEGY]


async def test_lookup_codes(start: Callable[..., Any], dsn: str) -> None:
    async with start(MFA, dsn=dsn) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        token = await register(http, "codes@example.com")
        h = {"X-Session-Token": token}
        flow = (await http.get("/self-service/settings/api", headers=h)).json()
        url = f"/self-service/settings?flow={flow['id']}"
        r = await http.post(url, json={"method": "lookup_secret", "lookup_secret_confirm": True}, headers=h)
        assert r.status_code == 400 and [m["id"] for m in r.json()["ui"]["messages"]] == [
            SettingsMsg.ERR_LOOKUP_MISSING]
        r = await http.post(url, json={"method": "lookup_secret", "lookup_secret_regenerate": True}, headers=h)
        assert r.status_code == 200
        codes_node = next(n for n in r.json()["ui"]["nodes"] if n["attributes"].get("id") == "lookup_secret_codes")
        codes = [s["context"]["secret"] for s in codes_node["attributes"]["text"]["context"]["secrets"]]
        assert len(codes) == 12 and all(len(c) == 8 and c.isalnum() and c.islower() or c.isdigit() for c in codes)
        r = await http.post(url, json={"method": "lookup_secret", "lookup_secret_confirm": True}, headers=h)
        assert r.status_code == 200 and r.json()["state"] == "success"
        # log in again: aal1, then a backup code steps up; the same code twice is refused
        fresh = (await login(http, "codes@example.com")).json()["session_token"]
        assert (await http.get("/sessions/whoami", headers={"X-Session-Token": fresh})).status_code == 403
        second = (await http.get("/self-service/login/api", params={"aal": "aal2"},
                                 headers={"X-Session-Token": fresh})).json()
        names = [n["attributes"].get("name") for n in second["ui"]["nodes"]]
        assert "lookup_secret" in names and "totp_code" not in names
        wrong = await http.post(f"/self-service/login?flow={second['id']}", headers={"X-Session-Token": fresh},
                                json={"method": "lookup_secret", "lookup_secret": "zzzzzzzz"})
        assert node_messages(wrong.json(), "lookup_secret") == [SettingsMsg.ERR_LOOKUP_INVALID]
        ok = await http.post(f"/self-service/login?flow={second['id']}", headers={"X-Session-Token": fresh},
                             json={"method": "lookup_secret", "lookup_secret": codes[0]})
        assert ok.status_code == 200 and ok.json()["session"]["authenticator_assurance_level"] == "aal2"
        again_token = (await login(http, "codes@example.com")).json()["session_token"]
        again = (await http.get("/self-service/login/api", params={"aal": "aal2"},
                                headers={"X-Session-Token": again_token})).json()
        reused = await http.post(f"/self-service/login?flow={again['id']}", headers={"X-Session-Token": again_token},
                                 json={"method": "lookup_secret", "lookup_secret": codes[0]})
        assert node_messages(reused.json(), "lookup_secret") == [SettingsMsg.ERR_LOOKUP_USED]
        # reveal shows which codes are used (the texts are stored hashed); disable removes them
        r = await settings(http, token, {"method": "lookup_secret", "lookup_secret_reveal": True})
        listed = next(n for n in r.json()["ui"]["nodes"] if n["attributes"].get("id") == "lookup_secret_codes")
        ids = [s["id"] for s in listed["attributes"]["text"]["context"]["secrets"]]
        assert ids.count(SettingsMsg.INFO_LOOKUP_USED) == 1 and len(ids) == 12
        r = await settings(http, token, {"method": "lookup_secret", "lookup_secret_disable": True})
        assert r.status_code == 200
        assert (await http.get("/sessions/whoami", headers={"X-Session-Token": again_token})).status_code == 200


async def test_expired_flow_and_csrf(start: Callable[..., Any]) -> None:
    overrides = {"selfservice": {"flows": {"settings": {"lifespan": "1s"}}}}
    async with start(overrides) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        token = await register(http, "expiry@example.com")
        flow = (await http.get("/self-service/settings/api", headers={"X-Session-Token": token})).json()
        await asyncio.sleep(1.2)
        r = await http.post(f"/self-service/settings?flow={flow['id']}", headers={"X-Session-Token": token},
                            json={"method": "profile", "traits": {"email": "expiry@example.com"}})
        assert r.status_code == 410 and r.json()["error"]["id"] == "self_service_flow_expired"
        fresh = r.json()["use_flow_id"]
        r = await http.post(f"/self-service/settings?flow={fresh}", headers={"X-Session-Token": token},
                            json={"method": "profile", "traits": {"email": "expiry@example.com"}})
        assert r.status_code == 200 and r.json()["state"] == "success"
    async with start() as gk, httpx.AsyncClient(base_url=gk.public) as http:
        # a browser flow: the session cookie alone does not pass without the CSRF token
        flow = (await http.get("/self-service/registration/browser", headers={"Accept": "application/json"})).json()
        csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")
        await http.post(flow["ui"]["action"], json={"method": "password", "password": PASSWORD, "csrf_token": csrf,
                                                    "traits": {"email": "csrf@example.com"}})
        settings_flow = (await http.get("/self-service/settings/browser",
                                        headers={"Accept": "application/json"})).json()
        r = await http.post(settings_flow["ui"]["action"], json={"method": "profile",
                                                                 "traits": {"email": "csrf@example.com"}})
        assert r.status_code == 403 and r.json()["error"]["id"] == "security_csrf_violation"


BAD_BODIES = [
    {"method": ["profile"]},
    {"method": "profile", "traits": "not-an-object"},
    {"method": "profile", "traits": {"email": 42}},
    {"method": "password", "password": 12345678},
    {"method": "password", "password": "x" * 5000},
    {"method": "totp", "totp_code": 123456},
    {"method": "totp", "totp_code": "12345678901234567890"},
    {"method": "totp", "totp_unlink": "true"},
    {"method": "lookup_secret", "lookup_secret_confirm": "true"},
    {"method": "lookup_secret", "lookup_secret_disable": True},
    {"totp_unlink": True},
    {},
]


async def test_bad_input_gets_4xx_with_the_flow(start: Callable[..., Any]) -> None:
    async with start(MFA) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        token = await register(http, "bad-input@example.com")
        for body in BAD_BODIES:
            r = await settings(http, token, body)
            assert r.status_code == 400, (body, r.status_code, r.text)
            assert r.json()["ui"]["nodes"], body  # the flow, with its messages, never a stack trace
        r = await http.post("/self-service/settings?flow=not-a-flow", json={"method": "profile"},
                            headers={"X-Session-Token": token})
        assert r.status_code == 404
        r = await http.post("/self-service/settings?flow=" + "x" * 200, content=b"\xff\xfe garbage",
                            headers={"X-Session-Token": token, "Content-Type": "application/json"})
        assert 400 <= r.status_code < 500
