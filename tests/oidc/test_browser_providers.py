"""Chromium signs up once with every OAuth2 provider type Kratos v25.4 ships (and the plain `oauth2` one), each
against its local stand-in (tests/support/social_fakes.py), through the built-in UI in front of the demo app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.oidc.test_every_provider import entry
from tests.support.browser import chromium_page, demo_gatekeeper
from tests.support.servers import serving
from tests.support.social_fakes import SHAPES, FakeOAuth2, Person
from tests.web.test_browser import rules

pytestmark = pytest.mark.browser


def where(kind: str, url: str) -> dict[str, str]:
    """Where the stand-in answers, as test_every_provider points each provider type at it."""
    if kind == "oauth2":
        return {"auth_url": f"{url}/oauth/authorize", "token_url": f"{url}/oauth/token",
                "userinfo_url": f"{url}/api/me"}
    if kind == "github-app":
        return {"issuer_url": url, "auth_url": f"{url}/login/oauth/authorize",
                "token_url": f"{url}/login/oauth/access_token"}
    return {"issuer_url": url}


@contextlib.asynccontextmanager
async def stand_ins() -> AsyncIterator[dict[str, tuple[dict[str, Any], str]]]:
    """Every provider's stand-in, served; {kind: (provider config entry, the address it tells)}. Each signs in a
    person of its own (VK tells the address with the token, the same for everyone: nobody else tells it)."""
    async with contextlib.AsyncExitStack() as stack:
        providers = {}
        for kind in sorted(SHAPES):
            fake = FakeOAuth2(kind)
            fake.person = Person(email=f"{kind.replace('_', '-')}@example.com")
            url = await stack.enter_async_context(serving(fake.app()))
            providers[kind] = (entry(kind, **where(kind, url)),
                               fake.shape.token_extra.get("email", fake.person.email))
        yield providers


async def test_every_provider_signs_up_through_chromium(tmp_path: Path, sqlite_dsn: str) -> None:
    async with stand_ins() as providers:
        social = {"selfservice": {
            "methods": {"oidc": {"enabled": True, "config": {"providers": [p for p, _ in providers.values()]}}},
            "flows": {"registration": {"after": {"oidc": {"hooks": [{"hook": "session"}]}}}}}}
        async with demo_gatekeeper(tmp_path, sqlite_dsn, rules, social, return_path="/hello") as proxy:
            for kind, (provider, email) in providers.items():
                async with chromium_page() as page:
                    await page.goto(f"{proxy}/.auth/ui/registration")
                    await page.locator(f"button[name=provider][value='{provider['id']}']").click()
                    await page.wait_for_url(f"{proxy}/hello")
                    who = await page.locator("#who").inner_text()
                    assert f"Signed in as {email}" in who, (kind, who)
