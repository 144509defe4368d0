"""AAL in browser flows, with a cookie-holding client posting HTML forms (as the built-in UI does), on SQLite and
PostgreSQL: the second factor after the password, settings' required_aal, the refresh login for a privileged
change that keeps the session (and its aal2)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

from tests.identity.conftest import PASSWORD

MFA = {"selfservice": {"methods": {"totp": {"enabled": True}, "lookup_secret": {"enabled": True}}}}
HTML = {"Accept": "text/html"}


def flow_id(location: str) -> str:
    return parse_qs(urlsplit(location).query)["flow"][0]


def csrf(flow: dict[str, Any]) -> str:
    return next(n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "csrf_token")


async def open_flow(http: httpx.AsyncClient, kind: str, **params: str) -> dict[str, Any]:
    """Browser init (HTML: 303 to the UI), then the flow as the UI page reads it."""
    r = await http.get(f"/self-service/{kind}/browser", params=params, headers=HTML)
    assert r.status_code == 303, r.text
    return await read_flow(http, kind, r.headers["location"])


async def read_flow(http: httpx.AsyncClient, kind: str, location: str) -> dict[str, Any]:
    r = await http.get(f"/self-service/{kind}/flows", params={"id": flow_id(location)})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def post(http: httpx.AsyncClient, flow: dict[str, Any], **fields: str) -> httpx.Response:
    return await http.post(flow["ui"]["action"], data={"csrf_token": csrf(flow), **fields}, headers=HTML)


async def browser_register(http: httpx.AsyncClient, email: str) -> None:
    flow = await open_flow(http, "registration")
    r = await post(http, flow, method="profile", **{"traits.email": email})
    r = await post(http, await read_flow(http, "registration", r.headers["location"]), method="password",
                   password=PASSWORD, **{"traits.email": email})
    assert r.status_code == 303 and "ory_kratos_session" in http.cookies


async def browser_totp(http: httpx.AsyncClient) -> pyotp.TOTP:
    flow = await open_flow(http, "settings")
    secret = next(n["attributes"]["text"]["context"]["secret"] for n in flow["ui"]["nodes"]
                  if n["attributes"].get("id") == "totp_secret_key")
    totp = pyotp.TOTP(secret)
    r = await post(http, flow, method="totp", totp_code=totp.now())
    assert r.status_code == 303 and "/ui/settings?flow=" in r.headers["location"]
    saved = await read_flow(http, "settings", r.headers["location"])
    assert saved["state"] == "success"
    return totp


async def whoami(http: httpx.AsyncClient) -> httpx.Response:
    return await http.get("/sessions/whoami")


async def test_password_then_totp_in_the_browser(start: Callable[..., Any], dsn: str) -> None:
    async with start(MFA, dsn=dsn) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        await browser_register(http, "browser-mfa@example.com")
        totp = await browser_totp(http)
        assert (await whoami(http)).json()["authenticator_assurance_level"] == "aal2"
        http.cookies.delete("ory_kratos_session")
        login = await open_flow(http, "login", return_to="http://app.example.test/after")
        r = await post(http, login, method="password", identifier="browser-mfa@example.com", password=PASSWORD)
        # the password alone is not enough for an identity with a second factor: on to the aal2 login
        assert r.status_code == 303
        target = urlsplit(r.headers["location"])
        assert target.path.endswith("/self-service/login/browser")
        assert parse_qs(target.query) == {"aal": ["aal2"], "return_to": ["http://app.example.test/after"]}
        denied = await whoami(http)
        assert denied.status_code == 403 and denied.json()["error"]["id"] == "session_aal2_required"
        settings = await http.get("/self-service/settings/browser", headers={"Accept": "application/json"})
        assert settings.status_code == 403 and settings.json()["error"]["id"] == "session_aal2_required"
        r = await http.get(r.headers["location"], headers=HTML)
        second = await read_flow(http, "login", r.headers["location"])
        assert second["requested_aal"] == "aal2"
        assert {n["group"] for n in second["ui"]["nodes"]} == {"default", "totp"}  # no backup codes set up
        r = await post(http, second, method="totp", totp_code=totp.at(time.time() + totp.interval))
        assert r.status_code == 303 and r.headers["location"] == "http://app.example.test/after"
        me = (await whoami(http)).json()
        assert me["authenticator_assurance_level"] == "aal2"
        assert [m["method"] for m in me["authentication_methods"]] == ["password", "totp"]


async def test_settings_need_aal2_then_a_refresh_keeps_the_session(start: Callable[..., Any]) -> None:
    overrides = {**MFA, "selfservice": {**MFA["selfservice"],
                                        "flows": {"settings": {"privileged_session_max_age": "1s"}}}}
    async with start(overrides) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        await browser_register(http, "refresh@example.com")
        await browser_totp(http)
        # settings with an aal1 session of this identity: the second factor first (browser: redirected there)
        async with httpx.AsyncClient(base_url=gk.public) as other:
            login = await open_flow(other, "login")
            await post(other, login, method="password", identifier="refresh@example.com", password=PASSWORD)
            r = await other.get("/self-service/settings/browser", headers=HTML)
            assert r.status_code == 303 and "aal=aal2" in r.headers["location"]
            r = await other.get("/self-service/settings/browser", headers={"Accept": "application/json"})
            assert r.status_code == 403 and r.json()["error"]["id"] == "session_aal2_required"
            assert "aal=aal2" in r.json()["redirect_browser_to"]
        # the aal2 session grows old: a password change asks for a refresh login first
        settings = await open_flow(http, "settings")
        await asyncio.sleep(1.2)
        r = await post(http, settings, method="password", password="a-much-newer-passphrase-77")
        assert r.status_code == 303
        target = urlsplit(r.headers["location"])
        assert parse_qs(target.query)["refresh"] == ["true"]
        back = parse_qs(target.query)["return_to"][0]
        assert flow_id(back) == settings["id"]
        cookie = http.cookies["ory_kratos_session"]
        r = await http.get(r.headers["location"], headers=HTML)
        refresh = await read_flow(http, "login", r.headers["location"])
        assert refresh["refresh"] is True
        r = await post(http, refresh, method="password", identifier="refresh@example.com", password=PASSWORD)
        assert r.status_code == 303 and r.headers["location"] == back
        assert http.cookies["ory_kratos_session"] == cookie  # the same session, re-authenticated
        assert (await whoami(http)).json()["authenticator_assurance_level"] == "aal2"
        r = await post(http, await read_flow(http, "settings", back), method="password",
                       password="a-much-newer-passphrase-77")
        assert r.status_code == 303
        assert (await read_flow(http, "settings", r.headers["location"]))["state"] == "success"


async def test_spa_and_api_logins_that_owe_a_second_factor(start: Callable[..., Any]) -> None:
    async with start(MFA) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        await browser_register(http, "spa-mfa@example.com")
        await browser_totp(http)
        http.cookies.delete("ory_kratos_session")
        flow = (await http.get("/self-service/login/browser", headers={"Accept": "application/json"})).json()
        r = await http.post(flow["ui"]["action"], headers={"Accept": "application/json"},
                            json={"method": "password", "identifier": "spa-mfa@example.com", "password": PASSWORD,
                                  "csrf_token": csrf(flow)})
        # SPA: navigate to the second factor; the (aal1) session cookie is set for it
        assert r.status_code == 422 and r.json()["error"]["id"] == "browser_location_change_required"
        assert "aal=aal2" in r.json()["redirect_browser_to"]
        assert "ory_kratos_session" in http.cookies
    async with start(MFA) as gk, httpx.AsyncClient(base_url=gk.public) as native:
        await browser_register(native, "api-mfa@example.com")
        await browser_totp(native)
        native.cookies.clear()
        flow = (await native.get("/self-service/login/api")).json()
        r = await native.post(f"/self-service/login?flow={flow['id']}",
                              json={"method": "password", "identifier": "api-mfa@example.com", "password": PASSWORD})
        # API: the token to continue with, but no identity before the second factor
        assert r.status_code == 200 and r.json()["session_token"].startswith("ory_st_")
        assert r.json()["session"]["identity"] is None
        assert r.json()["session"]["authenticator_assurance_level"] == "aal1"


async def test_setting_up_codes_on_an_aal2_session_records_them_too(start: Callable[..., Any], dsn: str) -> None:
    """As Kratos: linking an app or confirming backup codes adds the method (at aal2) to the session, also when
    the session is aal2 already; regenerating the codes without confirming them, or unlinking, adds nothing."""
    async with start(MFA, dsn=dsn) as gk, httpx.AsyncClient(base_url=gk.public) as http:
        await browser_register(http, "codes-on-aal2@example.com")
        await browser_totp(http)
        flow = await open_flow(http, "settings")
        r = await post(http, flow, method="lookup_secret", lookup_secret_regenerate="true")
        shown = await read_flow(http, "settings", r.headers["location"])
        assert [m["method"] for m in (await whoami(http)).json()["authentication_methods"]] == ["password", "totp"]
        r = await post(http, shown, method="lookup_secret", lookup_secret_confirm="true")
        assert (await read_flow(http, "settings", r.headers["location"]))["state"] == "success"
        r = await post(http, await open_flow(http, "settings"), method="totp", totp_unlink="true")
        assert (await read_flow(http, "settings", r.headers["location"]))["state"] == "success"
        await browser_totp(http)
        me = (await whoami(http)).json()
        assert me["authenticator_assurance_level"] == "aal2"
        assert [(m["method"], m["aal"]) for m in me["authentication_methods"]] == \
            [("password", "aal1"), ("totp", "aal2"), ("lookup_secret", "aal2"), ("totp", "aal2")]
