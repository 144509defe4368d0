"""Chromium's virtual authenticators (CDP `WebAuthn.addVirtualAuthenticator`, through Playwright) on the built-in
UI: sign up with a passkey, sign out, sign in with it, add a security key as a second factor, and step up to
aal2 for a page that asks for it. The pages run gatekeeper's own webauthn.js under their CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ARTIFACTS, chromium_page, demo_gatekeeper
from tests.web.test_browser_mfa import rules

pytestmark = pytest.mark.browser

KEYS = {"selfservice": {
    "methods": {"passkey": {"enabled": True, "config": {"rp": {"id": "localhost", "display_name": "gatekeeper"}}},
                "webauthn": {"enabled": True, "config": {"rp": {"id": "localhost", "display_name": "gatekeeper"}}}},
    "flows": {"registration": {"after": {"passkey": {"hooks": [{"hook": "session"}]}}}}},
    "authorizers": {"expression": {"enabled": True}}}


class Authenticators:
    """Chromium's virtual authenticators; `touch(name)` makes that one alone answer (a user picking a device)."""

    def __init__(self, cdp: Any) -> None:
        self.cdp, self.ids = cdp, {}

    @classmethod
    async def on(cls, page: Any) -> Authenticators:
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("WebAuthn.enable", {"enableUI": False})
        return cls(cdp)

    async def add(self, name: str, *, transport: str, resident: bool) -> None:
        added = await self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": transport, "hasResidentKey": resident, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True}})
        self.ids[name] = added["authenticatorId"]
        await self.touch(name)

    async def touch(self, name: str) -> None:
        for other, authenticator_id in self.ids.items():
            await self.cdp.send("WebAuthn.setAutomaticPresenceSimulation",
                                {"authenticatorId": authenticator_id, "enabled": other == name})

    async def credentials(self, name: str) -> list[dict[str, Any]]:
        found = await self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.ids[name]})
        return list(found["credentials"])


async def test_passkey_sign_up_sign_in_security_key_and_step_up(tmp_path: Path, dsn: str) -> None:
    async with demo_gatekeeper(tmp_path, dsn, rules, KEYS, return_path="/hello", host="localhost") as proxy, \
            chromium_page(screenshot="passkey-journey.png") as page:
        devices = await Authenticators.on(page)
        await devices.add("platform", transport="internal", resident=True)
        await signed_up(page, proxy)
        # sign out; the login page's conditional UI (autofill on the identifier) signs in with the passkey
        await signed_out(page, proxy)
        async with page.expect_request(lambda r: r.method == "POST" and "/self-service/login?flow=" in r.url) as sent:
            await page.goto(f"{proxy}/hello")
        assert "passkey_login" in ((await sent.value).post_data or "")
        await page.wait_for_url(f"{proxy}/hello")
        assert "ada@example.com" in (await page.locator("body").inner_text()).lower()
        # a security key as second factor, named in settings
        await devices.add("usb key", transport="usb", resident=False)
        await page.goto(f"{proxy}/.auth/ui/settings")
        await page.wait_for_url("**/.auth/ui/settings?flow=*")
        await page.get_by_label("Name of the security key").fill("Blue key")
        await page.get_by_role("button", name="Add security key").click()
        await page.get_by_role("button", name='Remove security key "Blue key"').wait_for()
        assert len(await devices.credentials("usb key")) == 1 and len(await devices.credentials("platform")) == 1
        await page.screenshot(path=str(ARTIFACTS / "passkey-settings.png"), full_page=True)
        assert await page.get_by_role("button", name="Add passkey").count() == 1
        # sign out, no autofill this time; the aal2 page: "Sign in with passkey", then the security key
        await signed_out(page, proxy)
        await page.add_init_script("Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', "
                                   "{value: () => Promise.resolve(false)})")
        await page.goto(f"{proxy}/admin/reports")
        await page.wait_for_url("**/.auth/ui/login?flow=*")
        assert await page.get_by_label("E-Mail").get_attribute("autocomplete") == "username webauthn"
        await devices.touch("platform")
        await page.get_by_role("button", name="Sign in with passkey").click()
        await page.wait_for_url("**/.auth/ui/login?flow=*")
        await devices.touch("usb key")
        await page.get_by_role("button", name="Sign in with hardware key").click()
        await page.wait_for_url(f"{proxy}/admin/reports")
        assert "ada@example.com" in (await page.locator("body").inner_text()).lower()


async def test_identifier_first_signs_in_with_the_passkey_button_after_the_identifier(tmp_path: Path,
                                                                                     dsn: str) -> None:
    """The identifier-first style: no autofill here, so the identifier, "Continue", then "Sign in with passkey"."""
    style = {**KEYS, "selfservice": {**KEYS["selfservice"], "flows": {
        **KEYS["selfservice"]["flows"], "login": {"style": "identifier_first"}}}}
    async with demo_gatekeeper(tmp_path, dsn, rules, style, return_path="/hello", host="localhost") as proxy, \
            chromium_page(screenshot="passkey-identifier-first.png") as page:
        devices = await Authenticators.on(page)
        await devices.add("platform", transport="internal", resident=True)
        await signed_up(page, proxy)
        await page.context.clear_cookies()  # another visit, signed out
        await page.add_init_script("Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', "
                                   "{value: () => Promise.resolve(false)})")
        await page.goto(f"{proxy}/.auth/self-service/login/browser")
        await page.wait_for_url("**/.auth/ui/login?flow=*")
        assert await page.get_by_role("button", name="Sign in with passkey").count() == 0
        await page.get_by_label("E-Mail").fill("ada@example.com")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("button", name="Sign in with passkey").click()
        await page.wait_for_url(f"{proxy}/hello")
        assert "ada@example.com" in (await page.locator("body").inner_text()).lower()


async def signed_up(page: Any, proxy: str) -> None:
    """Sign up: the profile, then "Sign up with passkey" on the credential screen; back at /hello."""
    await page.goto(f"{proxy}/.auth/self-service/registration/browser")
    await page.get_by_label("E-Mail").fill("ada@example.com")
    await page.get_by_label("First name").fill("Ada")
    await page.get_by_role("button", name="Sign up").click()
    await page.get_by_role("button", name="Sign up with passkey").click()
    await page.wait_for_url(f"{proxy}/hello")


async def signed_out(page: Any, proxy: str) -> None:
    await page.goto(f"{proxy}/.auth/self-service/logout/browser")
    await page.locator("#confirm-logout").click()
    await page.wait_for_load_state()
