"""A real browser (chromium, headless, Playwright) enables TOTP on the built-in settings page, signs out, signs
in with password + TOTP, and meets an access rule that requires aal2 (expression authorizer + redirect)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.conftest import _merge
from tests.identity.conftest import PASSWORD
from tests.support.browser import ARTIFACTS, chromium_page, demo_gatekeeper

pytestmark = pytest.mark.browser

RULES_FILE = Path(__file__).resolve().parents[2] / "rules" / "examples" / "mfa.yaml"
MFA = {"selfservice": {"methods": {"totp": {"enabled": True}, "lookup_secret": {"enabled": True}}},
       "authorizers": {"expression": {"enabled": True}}}


def rules(proxy: str, upstream: str) -> str:
    """The example rules of rules/examples/mfa.yaml, pointed at this test's ports."""
    return RULES_FILE.read_text().replace("http://127.0.0.1:4455", proxy).replace("http://127.0.0.1:4500", upstream)


def mfa_gatekeeper(tmp_path: Path, dsn: str, overrides: dict[str, Any] | None = None) -> \
        contextlib.AbstractAsyncContextManager[str]:
    """gatekeeper (TOTP and backup codes on) in front of the demo app with rules/examples/mfa.yaml; yields the
    proxy URL (the identity API and UI under /.auth)."""
    return demo_gatekeeper(tmp_path, dsn, rules, _merge(MFA, overrides or {}), return_path="/hello")


async def test_totp_journey_and_aal2_rule(tmp_path: Path, sqlite_dsn: str) -> None:
    async with mfa_gatekeeper(tmp_path, sqlite_dsn) as proxy, chromium_page(screenshot="mfa-journey.png") as page:
        await journey(page, proxy)


async def journey(page: Any, proxy: str) -> None:
    # register (profile first, then the password) and land on the app
    await page.goto(f"{proxy}/.auth/self-service/registration/browser")
    await page.get_by_label("E-Mail").fill("grace@example.com")
    await page.get_by_label("First name").fill("Grace")
    await page.get_by_role("button", name="Sign up").click()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await page.wait_for_url(f"{proxy}/hello")
    # an aal1 session passes the rule that only needs a session
    await page.goto(f"{proxy}/.auth/ui/settings")
    await page.wait_for_url("**/.auth/ui/settings?flow=*")
    assert await page.locator("#totp_qr").get_attribute("src") is not None
    secret = (await page.locator("#totp_secret_key").inner_text()).strip()
    await page.screenshot(path=str(ARTIFACTS / "mfa-settings-totp.png"), full_page=True)
    await page.get_by_label("Verify code").fill(pyotp.TOTP(secret).now())
    await page.locator("#settings-totp").get_by_role("button", name="Save").click()
    await page.wait_for_url("**/.auth/ui/settings?flow=*")
    assert "Your changes have been saved!" in await page.locator("#flow-messages").inner_text()
    assert await page.get_by_role("button", name="Unlink TOTP Authenticator App").count() == 1
    # recovery codes: generate, see them, confirm
    await page.get_by_role("button", name="Generate new backup recovery codes").click()
    await page.locator("#lookup_secret_codes li").nth(11).wait_for()
    assert await page.locator("#lookup_secret_codes li").count() == 12
    await page.screenshot(path=str(ARTIFACTS / "mfa-settings-codes.png"), full_page=True)
    await page.get_by_role("button", name="Confirm backup recovery codes").click()
    await page.get_by_role("button", name="Reveal backup recovery codes").wait_for()
    assert "Your changes have been saved!" in await page.locator("#flow-messages").inner_text()
    # sign out, sign in with the password: the second factor is asked for next
    await page.goto(f"{proxy}/.auth/self-service/logout/browser")
    await page.locator("#confirm-logout").click()
    await page.goto(f"{proxy}/hello")
    assert "/.auth/ui/login?flow=" in page.url
    await page.get_by_label("E-Mail").fill("grace@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in with password").click()
    await page.wait_for_url("**/.auth/ui/login?flow=*")
    assert await page.get_by_label("Authentication code").count() == 1
    assert await page.get_by_role("link", name="Sign in as someone else").count() == 1  # not "Create one"
    # the aal2 rule sends an aal1 session to the second-factor login, and back afterwards
    await page.goto(f"{proxy}/admin/reports")
    await page.wait_for_url("**/.auth/ui/login?flow=*")
    await page.get_by_label("Authentication code").fill("000000")
    await page.get_by_role("button", name="Use Authenticator").click()
    await page.locator("[data-message-id='4000008']").wait_for()  # wrong code: Kratos' 4000008 on the field
    await page.screenshot(path=str(ARTIFACTS / "mfa-login-second-factor.png"), full_page=True)
    totp = pyotp.TOTP(secret)
    await page.get_by_label("Authentication code").fill(totp.at(time.time() + totp.interval))
    await page.get_by_role("button", name="Use Authenticator").click()
    await page.wait_for_url(f"{proxy}/admin/reports")
    await page.locator("#who").wait_for()
    assert "grace@example.com" in (await page.locator("body").inner_text()).lower()
