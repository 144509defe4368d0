"""A real browser (Debian's chromium, headless, driven by Playwright) registers, signs out and signs in again
through the built-in UI in front of the demo app, exactly as `make run` serves it."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.app import app as demo_app
from gatekeeper.app import LISTENERS
from tests.identity.conftest import PASSWORD, identity_config
from tests.support.servers import free_socket, running_gatekeeper, serving, url_of

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

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


def _browser_available() -> None:
    if not os.path.exists(CHROMIUM) and not shutil.which("chromium"):
        message = "Debian's chromium is not installed (make system-deps installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


async def test_register_logout_login_through_the_builtin_ui(tmp_path: Path, sqlite_dsn: str) -> None:
    _browser_available()
    from playwright.async_api import async_playwright

    async with serving(demo_app) as upstream:
        sockets = {name: free_socket() for name in LISTENERS}
        proxy = url_of(sockets["proxy"])
        rules = tmp_path / "rules.yaml"
        rules.write_text(RULES.format(proxy=proxy, upstream=upstream))
        config = identity_config(sqlite_dsn, {
            "serve": {"proxy": {"base_url": proxy}, "public": {"base_url": f"{proxy}/.auth"}},
            "selfservice": {"default_browser_return_url": f"{proxy}/", "allowed_return_urls": [f"{proxy}/"]},
            "access_rules": {"matching_strategy": "glob", "repositories": [f"file://{rules}"]},
            "authenticators": {"cookie_session": {"enabled": True}},
            "authorizers": {"allow": {"enabled": True}},
            "mutators": {"header": {"enabled": True}},
            "errors": {"fallback": ["json"], "handlers": {"json": {"enabled": True}, "redirect": {"enabled": True}}},
        })
        async with running_gatekeeper(config, sockets=sockets), async_playwright() as pw:
            await wait_ready(proxy)
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = await browser.new_page()
            try:
                await run_journey(page, proxy)
            finally:
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "identity-journey.png"), full_page=True)
                await browser.close()


async def wait_ready(url: str) -> None:
    """Rules load in the background: wait for the proxy's readiness (which includes them)."""
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            if (await client.get(f"{url}/health/ready")).status_code == 200:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("gatekeeper did not become ready")


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
