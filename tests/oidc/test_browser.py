"""Headless chromium through the built-in UI: one button per provider; sign up with the provider; a sign-in
whose e-mail is not verified continues on the registration form, completed by hand; an address with a password
account asks for the password and links the provider."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.identity.conftest import PASSWORD
from tests.identity.test_browser_flows import register_html
from tests.oidc.conftest import Env
from tests.oidc.test_social_sign_in import oidc_identity
from tests.support.browser import ARTIFACTS, chromium

APP = "http://app.example.test/"

pytestmark = pytest.mark.browser


async def whoami(context: Any, env: Env) -> dict[str, Any]:
    resp = await context.request.get(f"{env.gk.public}/sessions/whoami")
    assert resp.status == 200
    data: dict[str, Any] = await resp.json()
    return data


async def app_context(browser: Any) -> Any:
    """A fresh browser context in which the app behind the return URL answers with a placeholder page."""
    context = await browser.new_context()
    await context.route(f"{APP}**", lambda route: route.fulfill(body="<h1>the app</h1>", content_type="text/html"))
    return context


async def test_social_sign_up_missing_traits_and_linking_in_chromium(env: Env) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        context = await app_context(browser)
        page = await context.new_page()
        await page.goto(f"{env.gk.public}/self-service/registration/browser")
        await page.wait_for_url("**/ui/registration?flow=*")
        for label in ("Sign up with Test IdP", "Sign up with GitHub", "Sign up with Microsoft"):
            assert await page.get_by_role("button", name=label).count() == 1
        await page.screenshot(path=str(ARTIFACTS / "oidc-registration.png"), full_page=True)
        await page.get_by_role("button", name="Sign up with Test IdP").click()
        await page.wait_for_url(APP)
        me = await whoami(context, env)
        assert me["identity"]["traits"]["email"] == "ada@example.com"
        await context.close()

        env.idp.user = {"sub": "user-2", "email": "grace@example.com", "email_verified": False,
                        "name": "Grace Hopper"}
        context = await app_context(browser)
        page = await context.new_page()
        await page.goto(f"{env.gk.public}/self-service/login/browser")
        await page.get_by_role("button", name="Sign in with Test IdP").click()
        await page.wait_for_url("**/ui/registration?flow=*")
        assert "is missing" in await page.locator(".field.invalid").inner_text()
        assert await page.get_by_label("First name").input_value() == "Grace"
        await page.screenshot(path=str(ARTIFACTS / "oidc-missing-traits.png"), full_page=True)
        await page.get_by_label("E-Mail").fill("grace@example.com")
        await page.get_by_role("button", name="Continue").click()
        await page.wait_for_url(APP)
        me = await whoami(context, env)
        assert me["identity"]["traits"] == {"email": "grace@example.com", "name": {"first": "Grace"}}
        await context.close()

        # Grace's colleague has a password account; signing up with the provider links it instead
        async with httpx.AsyncClient(base_url=env.gk.public) as c:
            assert (await register_html(c, "linus@example.com")).status_code == 303
        env.idp.user = {"sub": "user-3", "email": "linus@example.com", "email_verified": True, "name": "Linus"}
        context = await app_context(browser)
        page = await context.new_page()
        await page.goto(f"{env.gk.public}/self-service/registration/browser")
        await page.get_by_role("button", name="Sign up with Test IdP").click()
        await page.wait_for_url("**/ui/login?flow=*")
        assert "already used by another account" in await page.locator("#flow-messages").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "oidc-link-account.png"), full_page=True)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in with password").click()
        await page.wait_for_url(APP)
        me = await whoami(context, env)
        assert me["identity"]["traits"]["email"] == "linus@example.com"
        assert (await oidc_identity(env, "idp:user-3")).id == me["identity"]["id"]
        await context.close()
