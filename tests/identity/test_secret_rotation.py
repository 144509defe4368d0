"""`secrets.cookie` rotation: the first secret signs, every listed secret still verifies; dropping a secret ends
the cookies it signed. Session tokens themselves (X-Session-Token) do not depend on the secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.identity.conftest import PASSWORD

OLD = "old-cookie-secret-0123456789abcdef"
NEW = "new-cookie-secret-0123456789abcdef"


def secrets(*values: str) -> dict[str, Any]:
    return {"secrets": {"cookie": list(values)}}


async def test_rotating_cookie_secrets(start: Callable[..., Any]) -> None:
    async with start(secrets(OLD)) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/registration/browser", headers={"Accept": "application/json"})).json()
            csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"]
                        if n["attributes"]["name"] == "csrf_token")
            done = await c.post(flow["ui"]["action"], headers={"Accept": "application/json"}, json={
                "method": "password", "password": PASSWORD, "traits": {"email": "ada@example.com"},
                "csrf_token": csrf})
            assert done.status_code == 200
            cookie = c.cookies["ory_kratos_session"]
            token_flow = (await c.get("/self-service/logout/browser", headers={"Accept": "application/json"})).json()
    session_cookie = {"Cookie": f"ory_kratos_session={cookie}"}
    async with start(secrets(NEW, OLD)) as gk:  # rotated: NEW signs, OLD still verifies
        async with httpx.AsyncClient(base_url=gk.public) as c:
            assert (await c.get("/sessions/whoami", headers=session_cookie)).status_code == 200
            logout = (await c.get("/self-service/logout/browser", headers={"Accept": "application/json",
                                                                           **session_cookie})).json()
            assert logout["logout_token"] != token_flow["logout_token"]  # re-derived with the new secret
            stale = await c.get("/self-service/logout", params={"token": token_flow["logout_token"]},
                                headers={"Accept": "application/json", **session_cookie})
            assert stale.status_code == 403
            out = await c.get("/self-service/logout", params={"token": logout["logout_token"]},
                              headers={"Accept": "application/json", **session_cookie})
            assert out.status_code == 204
    async with start(secrets(NEW)) as gk:  # OLD dropped: cookies it signed are worthless
        async with httpx.AsyncClient(base_url=gk.public) as c:
            assert (await c.get("/sessions/whoami", headers=session_cookie)).status_code == 401
