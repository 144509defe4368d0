"""AAL through the proxy (rules/examples/mfa.yaml in front of the demo app), with a cookie-holding client:
under highest_available a password-only session of an identity with TOTP does not pass at all (the login page then
asks for the second factor); with `aal1`, an aal1 session reaches /hello but the `expression` rule of /admin
sends it to the second-factor login, and it comes back to /admin after the code."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

from tests.identity.conftest import PASSWORD
from tests.identity.test_aal import HTML, browser_register, browser_totp, open_flow, post, read_flow
from tests.web.test_browser_mfa import mfa_gatekeeper


async def password_login(http: httpx.AsyncClient, email: str) -> httpx.Response:
    http.cookies.delete("ory_kratos_session")
    return await post(http, await open_flow(http, "login"), method="password", identifier=email, password=PASSWORD)


async def test_password_alone_does_not_pass_the_proxy(tmp_path: Path, sqlite_dsn: str) -> None:
    async with mfa_gatekeeper(tmp_path, sqlite_dsn) as proxy, \
            httpx.AsyncClient(base_url=f"{proxy}/.auth") as http:
        await browser_register(http, "proxy-mfa@example.com")
        await browser_totp(http)
        assert (await http.get(f"{proxy}/hello", headers=HTML)).status_code == 200  # aal2: in
        await password_login(http, "proxy-mfa@example.com")
        r = await http.get(f"{proxy}/hello", headers=HTML)
        assert r.status_code == 302 and "/.auth/ui/login" in r.headers["location"]
        # the login page, reached with that session, asks for the second factor (no redirect loop)
        login = await open_flow(http, "login", return_to=f"{proxy}/hello")
        assert login["requested_aal"] == "aal2"
        assert "totp_code" in [n["attributes"].get("name") for n in login["ui"]["nodes"]]


async def test_expression_rule_requires_aal2(tmp_path: Path, sqlite_dsn: str) -> None:
    overrides = {"session": {"whoami": {"required_aal": "aal1"}}}
    async with mfa_gatekeeper(tmp_path, sqlite_dsn, overrides) as proxy, \
            httpx.AsyncClient(base_url=f"{proxy}/.auth") as http:
        await browser_register(http, "rule-mfa@example.com")
        totp: pyotp.TOTP = await browser_totp(http)
        await password_login(http, "rule-mfa@example.com")
        hello = await http.get(f"{proxy}/hello", headers=HTML)
        assert hello.status_code == 200 and "rule-mfa@example.com" in hello.text  # aal1 is enough here
        admin = await http.get(f"{proxy}/admin/reports", headers=HTML)
        assert admin.status_code == 302
        target = urlsplit(admin.headers["location"])
        assert target.path == "/.auth/self-service/login/browser"
        assert parse_qs(target.query) == {"aal": ["aal2"], "return_to": [f"{proxy}/admin/reports"]}
        r = await http.get(f"{proxy}{target.path}?{target.query}", headers=HTML)
        second = await read_flow(http, "login", r.headers["location"])
        r = await post(http, second, method="totp", totp_code=totp.at(time.time() + totp.interval))
        assert r.status_code == 303 and r.headers["location"] == f"{proxy}/admin/reports"
        admin = await http.get(f"{proxy}/admin/reports", headers=HTML)
        assert admin.status_code == 200 and "rule-mfa@example.com" in admin.text
