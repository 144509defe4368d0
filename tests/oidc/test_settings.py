"""Account settings link and unlink providers (Kratos' `link`/`unlink` nodes); the last way to sign in stays."""

from __future__ import annotations

from typing import Any

import httpx

from tests.identity.test_browser_flows import csrf_value, flow_id, register_html, start_browser_flow
from tests.oidc.conftest import Env
from tests.oidc.test_social_sign_in import APP, dance, oidc_identity


def buttons(flow: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(n["attributes"]["name"], n["attributes"]["value"], n["meta"]["label"]["text"])
            for n in flow["ui"]["nodes"] if n["group"] == "oidc"]


async def settings_flow(c: httpx.AsyncClient, flow_id_: str | None = None) -> dict[str, Any]:
    if flow_id_ is None:
        started = await c.get("/self-service/settings/browser")
        assert started.status_code == 303, started.text
        flow_id_ = flow_id(started.headers["location"])
    data: dict[str, Any] = (await c.get("/self-service/settings/flows", params={"id": flow_id_})).json()
    return data


async def test_link_then_unlink_a_provider_in_settings(dsn: str, env_for: Any) -> None:
    async with env_for(dsn) as env:  # SQLite and PostgreSQL: credentials change after creation
        async with httpx.AsyncClient(base_url=env.gk.public) as c:
            assert (await register_html(c, "ada@example.com")).status_code == 303
            flow = await settings_flow(c)
            assert ("link", "idp", "Link Test IdP") in buttons(flow)
            assert not [b for b in buttons(flow) if b[0] == "unlink"]
            to_idp = await c.post(flow["ui"]["action"], data={"csrf_token": csrf_value(flow), "link": "idp"})
            assert to_idp.status_code == 303 and to_idp.headers["location"].startswith(f"{env.idp.base}/authorize?")
            callback = (await c.get(to_idp.headers["location"])).headers["location"]
            back = await c.get(callback)
            assert back.status_code == 303 and flow_id(back.headers["location"]) == flow["id"]
            flow = await settings_flow(c, flow["id"])
            assert flow["state"] == "success" and flow["ui"]["messages"][0]["id"] == 1050001
            assert ("unlink", "idp", "Unlink Test IdP") in buttons(flow)
            me = (await c.get("/sessions/whoami")).json()["identity"]["id"]
            assert (await oidc_identity(env, "idp:user-1")).id == me
            gone = await c.post(flow["ui"]["action"], data={"csrf_token": csrf_value(flow), "unlink": "idp"})
            assert gone.status_code == 303
            assert ("link", "idp", "Link Test IdP") in buttons(await settings_flow(c, flow["id"]))
            assert await oidc_identity(env, "idp:user-1") is None


async def test_the_last_way_to_sign_in_cannot_be_unlinked(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.gk.public) as c:
        registration = await start_browser_flow(c, "registration")
        assert (await dance(c, registration, "idp")).headers["location"] == APP
        flow = await settings_flow(c)
        assert not [b for b in buttons(flow) if b[0] == "unlink"]
        refused = await c.post(flow["ui"]["action"], json={"csrf_token": csrf_value(flow), "unlink": "idp"},
                               headers={"Accept": "application/json"})
        assert refused.status_code == 400
        assert "last remaining first factor credential" in refused.json()["ui"]["messages"][0]["text"]
        assert await oidc_identity(env, "idp:user-1") is not None
