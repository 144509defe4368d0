"""One account's whole life in a real browser (Debian's chromium, headless, Playwright), through the built-in UI
and the proxy in front of the demo app: register -> the verification code arrives over SMTP -> verify -> enable
TOTP -> sign out -> sign in with password + TOTP -> recover the account by e-mail code. The recovered session is
aal1 while the identity has TOTP, so (as Kratos, `settings.required_aal: highest_available`) the settings page
first asks for the second factor and then shows the recovered settings flow, where the new password is set.
A screenshot after each step: tests/artifacts/lifecycle-*.png."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.conftest import _merge
from tests.identity.conftest import PASSWORD
from tests.support.browser import ARTIFACTS, chromium_page, demo_gatekeeper
from tests.support.smtp import SmtpSink, code_in, mail_overrides, mail_to
from tests.web.test_browser_mfa import rules

pytestmark = pytest.mark.browser

EMAIL = "lin@example.com"
NEW_PASSWORD = "a-brand-new-passphrase-77"  # noqa: S105


class Authenticator:
    """The user's authenticator app. gatekeeper accepts a code one step either side of now and never the same step
    twice, so each code is the earliest step still accepted: three sign-ins fit in one 30 s window."""

    def __init__(self, secret: str) -> None:
        self.totp, self.last = pyotp.TOTP(secret), -2

    def code(self) -> str:
        now = int(time.time()) // self.totp.interval
        self.last = max(self.last + 1, now - 1)
        return self.totp.generate_otp(self.last)


async def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"lifecycle-{step}.png"), full_page=True)


async def messages(page: Any) -> str:
    return str(await page.locator("#flow-messages").inner_text())


async def test_register_verify_totp_login_recover(tmp_path: Path, sqlite_dsn: str) -> None:
    sink = await SmtpSink().start()
    try:
        overrides = _merge(mail_overrides(sink), {"selfservice": {"methods": {"totp": {"enabled": True}}},
                                                  "authorizers": {"expression": {"enabled": True}}})
        async with demo_gatekeeper(tmp_path, sqlite_dsn, rules, overrides, return_path="/hello") as proxy, \
                chromium_page(screenshot="lifecycle-last.png") as page:
            await lifecycle(page, proxy, sink)
    finally:
        await sink.stop()


async def lifecycle(page: Any, proxy: str, sink: SmtpSink) -> None:
    auth = f"{proxy}/.auth"
    # 1. Register (profile first, then the password): the verification page says a code was sent.
    await page.goto(f"{proxy}/hello")
    await page.wait_for_url("**/.auth/ui/login?flow=*")
    await page.get_by_role("link", name="Create one").click()
    await page.get_by_label("E-Mail").fill(EMAIL)
    await page.get_by_role("button", name="Sign up").click()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await page.wait_for_url("**/.auth/ui/verification?flow=*")
    assert "verification code has been sent" in await messages(page)
    await shot(page, "01-registered")

    # 2. A mistyped code is refused; the one delivered over SMTP verifies the address.
    code = code_in((await mail_to(sink, EMAIL))[0])
    await page.get_by_label("Verification code").fill("000000" if code != "000000" else "111111")
    await page.get_by_role("button", name="Continue").click()
    assert "invalid or has already been used" in await messages(page)
    await page.get_by_label("Verification code").fill(code)
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_url("**/.auth/ui/verification?flow=*")
    assert "successfully verified" in await messages(page)
    await shot(page, "02-verified")
    await page.goto(f"{proxy}/hello")
    assert f"Signed in as {EMAIL}" in await page.locator("#who").inner_text()

    # 3. Enable TOTP on the settings page (the demo app's link).
    await page.get_by_role("link", name="Account settings").click()
    await page.wait_for_url("**/.auth/ui/settings?flow=*")
    app = Authenticator((await page.locator("#totp_secret_key").inner_text()).strip())
    await page.get_by_label("Verify code").fill(app.code())
    await page.locator("#settings-totp").get_by_role("button", name="Save").click()
    await page.wait_for_url("**/.auth/ui/settings?flow=*")
    assert "Your changes have been saved!" in await messages(page)
    assert await page.get_by_role("button", name="Unlink TOTP Authenticator App").count() == 1
    await shot(page, "03-totp-enabled")

    # 4. Sign out (the demo app's link and the confirmation page): the app is out of reach.
    await page.goto(f"{proxy}/hello")
    await page.get_by_role("link", name="Sign out").click()
    await page.locator("#confirm-logout").click()
    await page.goto(f"{proxy}/hello")
    assert "/.auth/ui/login?flow=" in page.url
    await shot(page, "04-signed-out")

    # 5. Password, then the second factor is asked for; with the code the app greets the user again.
    await page.get_by_label("E-Mail").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in with password").click()
    await page.wait_for_url("**/.auth/ui/login?flow=*")
    await page.get_by_label("Authentication code").fill(app.code())
    await shot(page, "05-second-factor")
    await page.get_by_role("button", name="Use Authenticator").click()
    await page.wait_for_url(f"{proxy}/hello")
    assert f"Signed in as {EMAIL}" in await page.locator("#who").inner_text()
    await shot(page, "06-signed-in-aal2")

    # 6. Forgot the password: sign out, recover by the e-mailed code.
    await page.get_by_role("link", name="Sign out").click()
    await page.locator("#confirm-logout").click()
    await page.goto(f"{auth}/self-service/login/browser")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.wait_for_url("**/.auth/ui/recovery?flow=*")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_url("**/.auth/ui/recovery?flow=*")
    assert "recovery code has been sent" in await messages(page)
    await page.get_by_label("Recovery code").fill(code_in((await mail_to(sink, EMAIL, 2))[1]))
    await shot(page, "07-recovery-code")
    await page.get_by_role("button", name="Continue").click()

    # 7. The recovered session is aal1 and the account has TOTP: the second factor first, then the settings
    #    flow the recovery opened (with its message), where the new password is set.
    await page.wait_for_url("**/.auth/ui/login?flow=*")
    assert "complete the second authentication challenge" in await messages(page)
    await shot(page, "08-recovered-second-factor")
    await page.get_by_label("Authentication code").fill(app.code())
    await page.get_by_role("button", name="Use Authenticator").click()
    await page.wait_for_url("**/.auth/ui/settings?flow=*")
    assert "successfully recovered your account" in await messages(page)
    await shot(page, "09-recovered-settings")
    await page.locator("#settings-password").get_by_label("Password").fill(NEW_PASSWORD)
    await page.locator("#settings-password").get_by_role("button", name="Save").click()
    await page.wait_for_url("**/.auth/ui/settings?flow=*")
    assert "Your changes have been saved!" in await messages(page)
    await page.goto(f"{proxy}/hello")
    assert f"Signed in as {EMAIL}" in await page.locator("#who").inner_text()

    # 8. The new password is the one that works now: it leads to the second-factor step, the old one does not.
    await page.get_by_role("link", name="Sign out").click()
    await page.locator("#confirm-logout").click()
    await page.goto(f"{auth}/self-service/login/browser")
    await page.get_by_label("E-Mail").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in with password").click()
    assert "credentials are invalid" in await messages(page)
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in with password").click()
    await page.get_by_label("Authentication code").wait_for()
    await shot(page, "10-new-password")
