"""`secrets.cookie` rotation: the first secret signs, every listed secret still verifies; dropping a secret ends
the cookies it signed. Session tokens themselves (X-Session-Token) do not depend on the secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.identity.conftest import PASSWORD
from tests.support.servers import Instance

OLD = "old-cookie-secret-0123456789abcdef"
NEW = "new-cookie-secret-0123456789abcdef"
JSON = {"Accept": "application/json"}


def secrets(*values: str) -> dict[str, Any]:
    return {"secrets": {"cookie": list(values)}}


async def browser_sign_up(gk: Instance, email: str) -> str:
    """A browser (SPA) registration: the session cookie's value."""
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = (await c.get("/self-service/registration/browser", headers=JSON)).json()
        csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"]["name"] == "csrf_token")
        done = await c.post(flow["ui"]["action"], headers=JSON, json={
            "method": "password", "password": PASSWORD, "traits": {"email": email}, "csrf_token": csrf})
        assert done.status_code == 200, done.text
        return str(c.cookies["ory_kratos_session"])


async def whoami(gk: Instance, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        return await c.get("/sessions/whoami", headers=headers)


def by_cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"ory_kratos_session={value}"}


async def test_rotating_cookie_secrets(start: Callable[..., Any]) -> None:
    async with start(secrets(OLD)) as gk:
        ada = await browser_sign_up(gk, "ada@example.com")  # stays signed in throughout
        grace = await browser_sign_up(gk, "grace@example.com")  # signs out after the rotation
        async with httpx.AsyncClient(base_url=gk.public) as c:
            old_logout = (await c.get("/self-service/logout/browser", headers={**JSON, **by_cookie(grace)})).json()
    async with start(secrets(NEW, OLD)) as gk:  # rotated: NEW signs, OLD still verifies
        me = await whoami(gk, by_cookie(ada))
        assert me.status_code == 200 and me.json()["identity"]["traits"]["email"] == "ada@example.com"
        async with httpx.AsyncClient(base_url=gk.public, headers=JSON) as c:
            assert (await c.get("/sessions/whoami", headers=by_cookie(grace))).status_code == 200
            logout = (await c.get("/self-service/logout/browser", headers=by_cookie(grace))).json()
            assert logout["logout_token"] != old_logout["logout_token"]  # re-derived with the new secret
            stale = await c.get("/self-service/logout", params={"token": old_logout["logout_token"]},
                                headers=by_cookie(grace))
            assert stale.status_code == 403
            out = await c.get("/self-service/logout", params={"token": logout["logout_token"]},
                              headers=by_cookie(grace))
            assert out.status_code == 204
        assert (await whoami(gk, by_cookie(grace))).status_code == 401
        fresh = await browser_sign_up(gk, "linus@example.com")  # signed with NEW
    async with start(secrets(NEW)) as gk:  # OLD dropped: the cookies it signed are worthless
        assert (await whoami(gk, by_cookie(ada))).status_code == 401
        # ... although the session behind the cookie is still live: its token alone is accepted
        token = ada.partition(".")[0]
        live = await whoami(gk, {"X-Session-Token": token})
        assert live.status_code == 200 and live.json()["identity"]["traits"]["email"] == "ada@example.com"
        assert (await whoami(gk, by_cookie(fresh))).status_code == 200  # NEW's cookies keep working
