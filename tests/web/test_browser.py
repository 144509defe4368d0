"""A real browser (Debian's chromium, headless, driven by Playwright) registers, signs out and signs in again
through the built-in UI in front of the demo app, exactly as `make run` serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.identity.conftest import PASSWORD
from tests.support.browser import ARTIFACTS, chromium_page, demo_gatekeeper

pytestmark = pytest.mark.browser

RULES = """
- id: demo-app
  match:
    url: {proxy}/<**>
    methods: [GET, POST, HEAD]
  upstream:
    url: {upstream}
  authenticators:
    - handler: cookie_session
  authorizer:
    handler: allow
  mutators:
    - handler: header
      config:
        headers:
          X-User-Id: "{{{{ print .Subject }}}}"
          X-User-Email: "{{{{ print .Extra.identity.traits.email }}}}"
  errors:
    - handler: redirect
      config:
        to: /.auth/ui/login
        return_to_query_param: return_to
"""


def rules(proxy: str, upstream: str) -> str:
    return RULES.format(proxy=proxy, upstream=upstream)


async def test_register_logout_login_through_the_builtin_ui(tmp_path: Path, sqlite_dsn: str) -> None:
    async with demo_gatekeeper(tmp_path, sqlite_dsn, rules) as proxy, \
            chromium_page(screenshot="identity-journey.png") as page:
        await run_journey(page, proxy)


async def run_journey(page: Any, proxy: str) -> None:
    # 1. The protected app sends an anonymous visitor to the built-in login page.
    await page.goto(f"{proxy}/hello")
    assert "/.auth/ui/login?flow=" in page.url
    assert await page.locator("h1").inner_text() == "Sign in"
    # 2. Register, profile first: e-mail and name, then the password.
    await page.get_by_role("link", name="Create one").click()
    await page.wait_for_url("**/.auth/ui/registration?flow=*")
    await page.get_by_label("E-Mail").fill("Ada@Example.com")
    await page.get_by_label("First name").fill("Ada")
    await page.get_by_role("button", name="Sign up").click()
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Sign up").click()
    assert "at least 8 characters" in await page.locator(".field.invalid").inner_text()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    # 3. Back at the page first asked for, with gatekeeper's identity headers.
    await page.wait_for_url(f"{proxy}/hello")
    assert "Signed in as Ada@Example.com" in await page.locator("#who").inner_text()
    assert "x-user-id" in (await page.content()).lower()
    # 4. Sign out through the demo app's link and the confirmation page.
    await page.get_by_role("link", name="Sign out").click()
    await page.locator("#confirm-logout").click()
    await page.wait_for_url("**/.auth/ui/login*")
    await page.goto(f"{proxy}/hello")
    assert "/.auth/ui/login?flow=" in page.url
    # 5. Wrong password first (message shown), then sign in.
    await page.get_by_label("E-Mail").fill("ada@example.com")
    await page.get_by_label("Password").fill("not-my-password")
    await page.get_by_role("button", name="Sign in with password").click()
    assert "credentials are invalid" in await page.locator("#flow-messages").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "identity-login-error.png"), full_page=True)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in with password").click()
    await page.wait_for_url(f"{proxy}/hello")
    assert "Signed in as Ada@Example.com" in await page.locator("#who").inner_text()
