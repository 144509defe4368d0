"""Kratos' `identifier_first` login style: identifier, then the password screen (for any identifier: no
account enumeration), then the usual password check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import ory_kratos_client as k

from gatekeeper.identity.text import Msg
from tests.identity.conftest import PASSWORD

STYLE = {"selfservice": {"flows": {"login": {"style": "identifier_first"}}}}


def by_name(flow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{n['attributes']['name']}={n['attributes'].get('value')}" if n["attributes"]["type"] == "submit"
            else n["attributes"]["name"]: n for n in flow["ui"]["nodes"]}


async def test_identifier_first_login(start: Callable[..., Any]) -> None:
    async with start(STYLE) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            reg = (await c.get("/self-service/registration/api")).json()
            await c.post(f"/self-service/registration?flow={reg['id']}", json={
                "method": "password", "password": PASSWORD, "traits": {"email": "ada@example.com"}})
            flow = (await c.get("/self-service/login/api")).json()
            nodes = by_name(flow)
            assert set(nodes) == {"csrf_token", "identifier", "method=identifier_first"}
            assert nodes["identifier"]["group"] == "identifier_first"
            assert nodes["identifier"]["attributes"]["autocomplete"] == "username webauthn"
            assert nodes["method=identifier_first"]["meta"]["label"]["id"] == Msg.LABEL_CONTINUE
            k.LoginFlow.from_dict(flow)  # the SDK's strict model accepts it
            url = f"/self-service/login?flow={flow['id']}"
            screens = []
            for who in ("ada@example.com", "nobody@example.com"):
                step = await c.post(url, json={"method": "identifier_first", "identifier": who})
                assert step.status_code == 400 and step.json()["active"] == "identifier_first"
                screens.append(sorted(by_name(step.json())))
                assert by_name(step.json())["identifier"]["attributes"]["type"] == "hidden"
            assert screens[0] == screens[1] == ["csrf_token", "identifier", "method=password", "password"]
            creds = {"method": "password", "identifier": "ada@example.com"}
            wrong = await c.post(url, json={**creds, "password": "no-no-no"})
            assert wrong.json()["ui"]["messages"][0]["id"] == Msg.ERR_INVALID_CREDENTIALS
            ok = await c.post(url, json={**creds, "password": PASSWORD})
            assert ok.status_code == 200 and ok.json()["session_token"].startswith("ory_st_")
            empty = (await c.get("/self-service/login/api")).json()
            missing = await c.post(f"/self-service/login?flow={empty['id']}", json={"method": "identifier_first"})
            assert Msg.ERR_VALIDATION_REQUIRED in [m["id"] for m in by_name(missing.json())["identifier"]["messages"]]
