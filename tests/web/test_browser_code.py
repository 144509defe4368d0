"""Chromium through the built-in UI with one-time codes, as `make run` offers them: sign up with an e-mailed code
read in the dev inbox, sign out, sign in with a new code, then refresh the login with one sent to the chosen
address. No mail server anywhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium_page, demo_gatekeeper
from tests.web.test_browser import rules

pytestmark = pytest.mark.browser

CODES: dict[str, Any] = {"dev": True, "selfservice": {
    "methods": {"code": {"passwordless_enabled": True}},
    "flows": {"registration": {"after": {"code": {"hooks": [{"hook": "session"}]}}}},
}}


async def code_from_inbox(page: Any, proxy: str, address: str, count: int) -> str:
    """The newest code sent to `address`, once `count` messages to it are in the dev inbox."""
    for _ in range(100):
        await page.goto(f"{proxy}/.auth/.dev/inbox?to={address}")
        codes = [c for c in await page.locator("code.otp").all_inner_texts() if re.fullmatch(r"\d{6}", c)]
        if len(codes) >= count:
            return codes[0]
        await page.wait_for_timeout(100)
    raise AssertionError(f"no code number {count} for {address} in the dev inbox")


async def test_sign_up_and_sign_in_with_codes_from_the_dev_inbox(tmp_path: Path, sqlite_dsn: str) -> None:
    address = "grace@example.com"
    async with demo_gatekeeper(tmp_path, sqlite_dsn, rules, CODES) as proxy, \
            chromium_page(screenshot="code-journey.png") as page:
        inbox = await page.context.new_page()
        await page.goto(f"{proxy}/hello")
        await page.get_by_role("link", name="Create one").click()
        await page.wait_for_url("**/.auth/ui/registration?flow=*")
        await page.get_by_label("E-Mail").fill(address)
        await page.get_by_role("button", name="Sign up").click()  # profile first: the traits, then a credential
        await page.get_by_role("button", name="Send sign up code").click()
        await page.locator("input[autocomplete=one-time-code]").fill(await code_from_inbox(inbox, proxy, address, 1))
        await page.locator("button[name=method][value=code]").first.click()
        await page.wait_for_url(f"{proxy}/hello")
        assert f"Signed in as {address}" in await page.locator("#who").inner_text()

        await page.get_by_role("link", name="Sign out").click()
        await page.locator("#confirm-logout").click()
        await page.wait_for_url("**/.auth/ui/login*")
        await page.goto(f"{proxy}/hello")
        await page.get_by_label("E-Mail").fill(address)
        await page.get_by_role("button", name="Send sign in code").click()
        wrong = "000000"
        await page.locator("input[autocomplete=one-time-code]").fill(wrong)
        await page.locator("button[name=method][value=code]").first.click()
        assert "code is invalid or has already been used" in await page.locator("body").inner_text()  # asks again
        await page.locator("input[autocomplete=one-time-code]").fill(await code_from_inbox(inbox, proxy, address, 2))
        await page.locator("button[name=method][value=code]").first.click()
        await page.wait_for_url(f"{proxy}/hello")
        assert f"Signed in as {address}" in await page.locator("#who").inner_text()

        # a refresh login knows who is signed in: a button per address of the identity, no identifier to type
        await page.goto(f"{proxy}/.auth/self-service/login/browser?refresh=true&return_to={proxy}/hello")
        await page.wait_for_url("**/.auth/ui/login?flow=*")
        assert await page.get_by_label("E-Mail").count() == 0
        await page.get_by_role("button", name=f"Send code to {address}").click()
        await page.locator("input[autocomplete=one-time-code]").fill(await code_from_inbox(inbox, proxy, address, 3))
        await page.locator("button[name=method][value=code]").first.click()
        await page.wait_for_url(f"{proxy}/hello")
        assert f"Signed in as {address}" in await page.locator("#who").inner_text()
