"""Admin-issued recovery codes and links (SDK IdentityApi), and the admin UI's "Send recovery code"."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import BadRequestException, NotFoundException

from tests.admin.conftest import person
from tests.conftest import _merge

RECOVERY = {"selfservice": {"flows": {"recovery": {"enabled": True}}, "methods": {"link": {"enabled": True}}}}


async def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


async def test_recovery_code_and_link_sign_the_user_in(start: Callable[..., Any]) -> None:
    async with start(RECOVERY) as gk, httpx.AsyncClient(base_url=gk.admin) as admin:
        ident = (await admin.post("/admin/identities", json=person("lost@example.org"))).json()
        api = k.IdentityApi(k.ApiClient(k.Configuration(host=gk.admin)))
        code = await call(api.create_recovery_code_for_identity, k.CreateRecoveryCodeForIdentityBody(
            identity_id=ident["id"], flow_type="api", expires_in="15m"))
        assert len(code.recovery_code) == 6 and code.recovery_code.isdigit()
        flow_id = code.recovery_link.split("flow=")[1]
        async with httpx.AsyncClient(base_url=gk.public) as public:
            wrong = await public.post(f"/self-service/recovery?flow={flow_id}",
                                      json={"method": "code", "code": "000000" if code.recovery_code != "000000"
                                            else "111111"})
            assert wrong.status_code == 400 and wrong.json()["state"] == "sent_email"  # the flow with the error
            done = await public.post(f"/self-service/recovery?flow={flow_id}",
                                     json={"method": "code", "code": code.recovery_code})
            assert done.status_code == 200, done.text
            token = next(c["ory_session_token"] for c in done.json()["continue_with"]
                         if c["action"] == "set_ory_session_token")
            who = await public.get("/sessions/whoami", headers={"X-Session-Token": token})
            assert who.status_code == 200 and who.json()["identity"]["id"] == ident["id"]
        browser = await call(api.create_recovery_code_for_identity,
                             k.CreateRecoveryCodeForIdentityBody(identity_id=ident["id"]))
        async with httpx.AsyncClient() as stranger:  # a browser with no cookie opens the link the admin handed out
            page = await stranger.get(browser.recovery_link)
            assert page.status_code == 200 and 'name="code"' in page.text
        with pytest.raises(BadRequestException):  # recovery uses the code method here
            await call(api.create_recovery_link_for_identity, create_recovery_link_for_identity_body=
                       k.CreateRecoveryLinkForIdentityBody(identity_id=ident["id"]))


async def test_recovery_link_signs_the_user_in(start: Callable[..., Any]) -> None:
    link_config = _merge(RECOVERY, {"selfservice": {"flows": {"recovery": {"use": "link"}}}})
    async with start(link_config) as gk, httpx.AsyncClient(base_url=gk.admin) as admin:
        ident = (await admin.post("/admin/identities", json=person("link@example.org"))).json()
        api = k.IdentityApi(k.ApiClient(k.Configuration(host=gk.admin)))
        link = await call(api.create_recovery_link_for_identity, create_recovery_link_for_identity_body=
                          k.CreateRecoveryLinkForIdentityBody(identity_id=ident["id"], expires_in="10m"))
        assert "token=" in link.recovery_link
        async with httpx.AsyncClient() as browser_client:
            followed = await browser_client.get(link.recovery_link)
            assert followed.status_code == 303
            assert "ory_kratos_session" in followed.headers.get("set-cookie", "")
            again = await browser_client.get(link.recovery_link)  # used once
            assert "ory_kratos_session=" not in again.headers.get("set-cookie", "")


@pytest.mark.parametrize(("body", "status"), [
    pytest.param({"expires_in": "soon"}, 400, id="not a duration"),
    pytest.param({"expires_in": "-1h"}, 400, id="negative"),
    pytest.param({"flow_type": "carrier-pigeon"}, 400, id="unknown flow type"),
    pytest.param({"identity_id": "00000000-0000-4000-8000-000000000000"}, 404, id="unknown identity"),
])
async def test_bad_recovery_requests(start: Callable[..., Any], body: dict[str, Any], status: int) -> None:
    async with start(RECOVERY) as gk, httpx.AsyncClient(base_url=gk.admin) as admin:
        ident = (await admin.post("/admin/identities", json=person("x@example.org"))).json()
        resp = await admin.post("/admin/recovery/code", json={"identity_id": ident["id"], **body})
        assert resp.status_code == status and resp.json()["error"]["reason"]


async def test_recovery_disabled_is_404(gk: Any) -> None:
    api = k.IdentityApi(k.ApiClient(k.Configuration(host=gk.admin)))
    async with httpx.AsyncClient(base_url=gk.admin) as admin:
        ident = (await admin.post("/admin/identities", json=person("y@example.org"))).json()
    with pytest.raises(NotFoundException):
        await call(api.create_recovery_code_for_identity, k.CreateRecoveryCodeForIdentityBody(identity_id=ident["id"]))
    with pytest.raises(NotFoundException):
        await call(api.create_recovery_link_for_identity,
                   create_recovery_link_for_identity_body=k.CreateRecoveryLinkForIdentityBody(identity_id=ident["id"]))


async def test_admin_ui_sends_a_recovery_code(start: Callable[..., Any]) -> None:
    async with start(RECOVERY) as gk, httpx.AsyncClient(base_url=gk.admin) as admin:
        ident = (await admin.post("/admin/identities", json=person("mail@example.org"))).json()
        page = await admin.get(f"/admin/ui/identities/{ident['id']}")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        sent = await admin.post(f"/admin/ui/identities/{ident['id']}/recovery", data={"csrf_token": token})
        assert sent.status_code == 303
        shown = await admin.get(sent.headers["location"])
        assert "A recovery code was sent to mail@example.org" in shown.text
        messages = (await admin.get("/admin/courier/messages", params={"recipient": "mail@example.org"})).json()
        assert [m["template_type"] for m in messages] == ["recovery_code_valid"]
