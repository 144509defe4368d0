"""The admin UI (/admin/ui on the admin listener): a real browser walks through it; forms without the CSRF
token are refused; it works without JavaScript (the browser runs with JavaScript disabled)."""

from __future__ import annotations

import httpx
import pytest

from tests.admin.conftest import PASSWORD, login, person
from tests.support.browser import ARTIFACTS, chromium_page
from tests.support.servers import Instance


async def seed(admin: httpx.AsyncClient, gk: Instance) -> str:
    for email in ("grace@example.org", "alan@example.org"):
        resp = await admin.post("/admin/identities", json=person(email, credentials={
            "password": {"config": {"password": PASSWORD}}}, metadata_public={"team": "compilers"}))
        assert resp.status_code == 201
    assert (await login(gk, "grace@example.org")).status_code == 200
    return str((await admin.get("/admin/identities", params={"credentials_identifier": "grace@example.org"}))
               .json()[0]["id"])


@pytest.mark.browser
async def test_operator_searches_views_deactivates_revokes_and_deletes(gk: Instance, admin: httpx.AsyncClient) -> None:
    grace = await seed(admin, gk)
    async with chromium_page(java_script_enabled=False) as page:
        await page.goto(f"{gk.admin}/admin/ui")
        assert await page.locator("#identities tbody tr").count() == 2
        await page.fill("#q", "gra")
        await page.click("button:has-text('Search')")
        rows = page.locator("#identities tbody tr")
        assert await rows.count() == 1
        await page.click("text=grace@example.org")
        assert await page.inner_text("#identity-label") == "grace@example.org"
        assert "compilers" not in await page.inner_text("#traits")  # metadata is not a trait
        assert '"team": "compilers"' in await page.inner_text("#metadata")
        assert '"email": "grace@example.org"' in await page.inner_text("#traits")
        assert "password" in await page.inner_text("#credentials")
        assert await page.locator("#sessions tbody tr").count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "admin-ui-identity.png"), full_page=True)
        await page.click("button:has-text('Deactivate')")
        assert "deactivated" in await page.inner_text("#notice")
        assert await page.inner_text("#state") == "inactive"
        assert (await login(gk, "grace@example.org")).status_code == 400
        await page.click("button:has-text('Activate')")
        assert await page.inner_text("#state") == "active"
        token = (await login(gk, "grace@example.org")).json()["session_token"]
        await page.reload()
        await page.locator("#sessions button:has-text('Revoke')").first.click()
        assert "Session revoked" in await page.inner_text("#notice")
        await page.click("button:has-text('Revoke all sessions')")
        assert "revoked" in await page.inner_text("#notice")
        async with httpx.AsyncClient() as client:
            who = await client.get(f"{gk.public}/sessions/whoami", headers={"X-Session-Token": token})
        assert who.status_code == 401
        await page.click("button:has-text('Delete identity')")
        assert "Identity deleted" in await page.inner_text("#notice")
        assert await page.locator("#identities tbody tr").count() == 1
        await page.goto(f"{gk.admin}/admin/ui/identities/{grace}")
        assert "Not found" in await page.inner_text("#error")


async def test_forms_without_the_csrf_token_change_nothing(gk: Instance, admin: httpx.AsyncClient) -> None:
    grace = await seed(admin, gk)
    async with httpx.AsyncClient(base_url=gk.admin) as client:
        page = await client.get(f"/admin/ui/identities/{grace}")
        assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
        for data in ({}, {"csrf_token": "forged"}):
            resp = await client.post(f"/admin/ui/identities/{grace}/delete", data=data)
            assert resp.status_code == 403 and "anti-CSRF" in resp.text
    async with httpx.AsyncClient(base_url=gk.admin) as stranger:  # another browser: its cookie, our token
        await stranger.get("/admin/ui/identities")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        resp = await stranger.post(f"/admin/ui/identities/{grace}/delete", data={"csrf_token": token})
        assert resp.status_code == 403
    assert (await admin.get(f"/admin/identities/{grace}")).status_code == 200
