"""Recovering an account that has a second factor (SQLite and PostgreSQL, a cookie client posting forms as the
built-in UI does): the recovered session is aal1, so, as Kratos with `settings.required_aal: highest_available`,
the settings flow the recovery opened asks for the second factor first and is shown after it."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.identity.conftest import PASSWORD
from tests.identity.test_aal import HTML, MFA, browser_register, browser_totp, flow_id, open_flow, post, read_flow
from tests.support.smtp import SmtpSink, code_in, mail_to, mailing
from tests.support.smtp import sink as sink  # noqa: F401  (fixture)


async def test_recovery_of_a_totp_account_steps_up_then_opens_its_settings_flow(dsn: str, sink: SmtpSink) -> None:
    async with mailing(dsn, sink, MFA) as gk, httpx.AsyncClient(base_url=gk.public) as owner:
        await browser_register(owner, "tove@example.com")
        totp = await browser_totp(owner)
        async with httpx.AsyncClient(base_url=gk.public) as http:  # another browser, password forgotten
            flow = await open_flow(http, "recovery")
            r = await post(http, flow, method="code", email="tove@example.com")
            assert r.status_code == 303
            code = code_in((await mail_to(sink, "tove@example.com", 2))[1])
            r = await post(http, flow, method="code", code=code)
            # signed in (aal1) and sent to the settings flow the recovery opened
            assert r.status_code == 303 and r.headers["location"].startswith(f"{gk.public}/ui/settings?flow=")
            assert "ory_kratos_session" in http.cookies
            settings_url = r.headers["location"]
            denied = await http.get("/self-service/settings/flows", params={"id": flow_id(settings_url)})
            assert denied.status_code == 403 and denied.json()["error"]["id"] == "session_aal2_required"
            step_up = urlsplit(denied.json()["redirect_browser_to"])
            assert parse_qs(step_up.query) == {"aal": ["aal2"], "return_to": [settings_url]}
            page = await http.get(settings_url)  # the built-in page sends the browser there
            assert page.status_code == 303 and page.headers["location"] == denied.json()["redirect_browser_to"]
            r = await http.get(page.headers["location"], headers=HTML)
            second = await read_flow(http, "login", r.headers["location"])
            r = await post(http, second, method="totp", totp_code=totp.at(time.time() + totp.interval))
            assert r.status_code == 303 and r.headers["location"] == settings_url
            settings = await read_flow(http, "settings", settings_url)
            assert 1060001 in [m["id"] for m in settings["ui"]["messages"]]  # "You successfully recovered ..."
            r = await post(http, settings, method="password", password="a-fresh-passphrase-after-recovery")
            assert r.status_code == 303
            assert (await read_flow(http, "settings", r.headers["location"]))["state"] == "success"
        async with httpx.AsyncClient(base_url=gk.public) as later:
            login = await open_flow(later, "login")
            r = await post(later, login, method="password", identifier="tove@example.com", password=PASSWORD)
            # the old password is gone: back to the login form, no session
            assert "/ui/login?flow=" in r.headers["location"] and "ory_kratos_session" not in later.cookies
