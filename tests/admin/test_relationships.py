"""An identity's relationships (Keto's tuples whose subject_id is its id): deleted with it when asked
(`DELETE /admin/identities/{id}?delete_relationships=true`), and shown, added and removed in the admin UI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.admin.conftest import PASSWORD, person
from tests.permissions.test_sdk import OPL
from tests.support.browser import ARTIFACTS, chromium_page
from tests.support.servers import Instance


@pytest.fixture
async def gk_keto(start: Callable[..., Any]) -> AsyncIterator[Instance]:
    async with start({"namespaces": {"location": f"file://{OPL}"}}) as instance:
        yield instance


async def create(admin: httpx.AsyncClient, email: str) -> str:
    resp = await admin.post("/admin/identities", json=person(email, credentials={
        "password": {"config": {"password": PASSWORD}}}))
    assert resp.status_code == 201
    return str(resp.json()["id"])


async def relate(admin: httpx.AsyncClient, namespace: str, object_: str, relation: str, subject: str) -> None:
    resp = await admin.put("/admin/relation-tuples", json={"namespace": namespace, "object": object_,
                                                           "relation": relation, "subject_id": subject})
    assert resp.status_code == 201


async def subjects(gk: Instance, namespace: str) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(base_url=gk.api) as client:
        tuples = (await client.get("/relation-tuples", params={"namespace": namespace})).json()["relation_tuples"]
    return sorted((t["object"], t["subject_id"]) for t in tuples)


async def allowed(gk: Instance, subject: str) -> bool:
    async with httpx.AsyncClient(base_url=gk.api) as client:
        answer = await client.get("/relation-tuples/check/openapi", params={
            "namespace": "Group", "object": "devs", "relation": "members", "subject_id": subject})
    return bool(answer.json()["allowed"])


async def test_deleting_an_identity_deletes_its_relationships_only_when_asked(gk_keto: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk_keto.admin) as admin:
        grace, alan = await create(admin, "grace@example.org"), await create(admin, "alan@example.org")
        for subject in (grace, alan):
            await relate(admin, "Group", "devs", "members", subject)
        await relate(admin, "File", grace, "owners", alan)  # grace as an object is not her relationship
        assert await allowed(gk_keto, grace)  # cached now: the deletion must clear it

        refused = await admin.delete(f"/admin/identities/{grace}", params={"delete_relationships": "maybe"})
        assert refused.status_code == 400 and "delete_relationships" in refused.json()["error"]["reason"]
        unknown = await admin.delete("/admin/identities/00000000-0000-4000-8000-000000000000",
                                     params={"delete_relationships": "true"})
        assert unknown.status_code == 404

        deleted = await admin.delete(f"/admin/identities/{grace}", params={"delete_relationships": "true"})
        assert deleted.status_code == 204
        assert (await admin.get(f"/admin/identities/{grace}")).status_code == 404
        assert await subjects(gk_keto, "Group") == [("devs", alan)]
        assert await subjects(gk_keto, "File") == [(grace, alan)]
        assert not await allowed(gk_keto, grace)

        kept = await admin.delete(f"/admin/identities/{alan}")  # Kratos' default: the tuples stay
        assert kept.status_code == 204
        assert await subjects(gk_keto, "Group") == [("devs", alan)]


@pytest.mark.browser
async def test_operator_adds_and_removes_relationships_and_deletes_with_them(gk_keto: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk_keto.admin) as admin:
        grace = await create(admin, "grace@example.org")
        await relate(admin, "Group", "devs", "members", grace)
    async with chromium_page(java_script_enabled=False) as page:
        await page.goto(f"{gk_keto.admin}/admin/ui/identities/{grace}")
        rows = page.locator("#relationships tbody tr")
        assert await rows.count() == 1 and "devs" in await rows.first.inner_text()
        await page.select_option("#relationship-namespace", "File")
        await page.fill("#relationship-object", "plan")
        await page.fill("#relationship-relation", "owners")
        await page.click("button:has-text('Add relationship')")
        assert "File:plan#owners added" in await page.inner_text("#notice")
        assert await rows.count() == 2
        assert await subjects(gk_keto, "File") == [("plan", grace)]
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "admin-ui-relationships.png"), full_page=True)

        await rows.filter(has_text="devs").locator("button:has-text('Remove')").click()
        assert "Group:devs#members removed" in await page.inner_text("#notice")
        assert await rows.count() == 1
        assert await subjects(gk_keto, "Group") == []

        await page.check("#delete-relationships")
        await page.click("button:has-text('Delete identity')")
        assert "with 1 relationship(s)" in await page.inner_text("#notice")
        assert await subjects(gk_keto, "File") == []


async def test_relationship_forms_need_the_csrf_token_and_a_known_namespace(gk_keto: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk_keto.admin) as admin:
        grace = await create(admin, "grace@example.org")
    async with httpx.AsyncClient(base_url=gk_keto.admin) as browser:
        page = await browser.get(f"/admin/ui/identities/{grace}")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        fields = {"namespace": "File", "object": "plan", "relation": "owners"}
        forged = await browser.post(f"/admin/ui/identities/{grace}/relationships", data=fields)
        assert forged.status_code == 403
        unknown = await browser.post(f"/admin/ui/identities/{grace}/relationships",
                                     data={**fields, "namespace": "Nowhere", "csrf_token": token})
        assert unknown.status_code == 404 and "Nowhere" in unknown.text
        empty = await browser.post(f"/admin/ui/identities/{grace}/relationships",
                                   data={**fields, "object": " ", "csrf_token": token})
        assert empty.status_code == 400
    assert await subjects(gk_keto, "File") == []
