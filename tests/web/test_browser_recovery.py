"""A real browser (Debian's chromium, headless, Playwright) through the built-in UI: register, read the
verification code from a real SMTP server, verify, sign out, recover the account by e-mail code and land on
the settings page signed in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.identity.conftest import PASSWORD, started
from tests.support.browser import ARTIFACTS, chromium_page
from tests.support.smtp import SmtpSink, code_in, mail_overrides, mail_to

pytestmark = pytest.mark.browser


async def test_register_verify_logout_recover(sqlite_dsn: str) -> None:
    sink = await SmtpSink().start()
    try:
        async with started(sqlite_dsn, mail_overrides(sink, {"selfservice": {"default_browser_return_url": "",
                                                                              "allowed_return_urls": []}})) as gk, \
                chromium_page(screenshot="identity-recovery.png") as page:
            await journey(page, gk.public, sink)
    finally:
        await sink.stop()


async def journey(page: Any, public: str, sink: SmtpSink) -> None:
    # 1. Register (profile first, then the password); show_verification_ui lands on the verification page.
    await page.goto(f"{public}/self-service/registration/browser")
    await page.get_by_label("E-Mail").fill("grace@example.com")
    await page.get_by_role("button", name="Sign up").click()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await page.wait_for_url("**/ui/verification?flow=*")
    assert "verification code has been sent" in await page.locator("#flow-messages").inner_text()
    # 2. A wrong code first, then the one delivered over SMTP.
    code = code_in((await mail_to(sink, "grace@example.com"))[0])
    await page.get_by_label("Verification code").fill("000000" if code != "000000" else "111111")
    await page.get_by_role("button", name="Continue").click()
    assert "invalid or has already been used" in await page.locator("#flow-messages").inner_text()
    await page.get_by_label("Verification code").fill(code)
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_url("**/ui/verification?flow=*")
    assert "successfully verified" in await page.locator("#flow-messages").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "identity-verified.png"), full_page=True)
    # 3. Sign out.
    await page.goto(f"{public}/self-service/logout/browser")
    await page.locator("#confirm-logout").click()
    await page.goto(f"{public}/ui/welcome")
    assert "not signed in" in await page.content()
    # 4. Recover the account by e-mail code, from the login page's link.
    await page.goto(f"{public}/self-service/login/browser")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.wait_for_url("**/ui/recovery?flow=*")
    await page.get_by_label("Email").fill("grace@example.com")
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_url("**/ui/recovery?flow=*")
    assert "recovery code has been sent" in await page.locator("#flow-messages").inner_text()
    recovery = code_in((await mail_to(sink, "grace@example.com", 2))[1])
    await page.get_by_label("Recovery code").fill(recovery)
    await page.get_by_role("button", name="Continue").click()
    # 5. Signed in, on the settings page, asked to change the password.
    await page.wait_for_url("**/ui/settings*")
    assert "successfully recovered your account" in await page.content()
    await page.goto(f"{public}/ui/welcome")
    assert "grace@example.com" in await page.locator("#who").inner_text()
    await page.goto(f"{public}/ui/settings")
    await page.screenshot(path=str(ARTIFACTS / "identity-recovered-settings.png"), full_page=True)
