"""An Oathkeeper rule written for Keto (`remote_json` against `/relation-tuples/check`) works unchanged when its
URL points at gatekeeper's own api listener: 200 allows, 403 denies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.access.support import access_config, rule
from tests.permissions.test_sdk import OPL
from tests.support.servers import LISTENERS, free_socket, running_gatekeeper, url_of


async def test_a_remote_json_rule_asks_gatekeeper_s_own_check(tmp_path: Path) -> None:
    sockets = {name: free_socket() for name in LISTENERS}
    api = url_of(sockets["api"])
    payload = ('{"namespace":"File","object":"{{ printIndex .MatchContext.RegexpCaptureGroups 1 }}",'
               '"relation":"view","subject_id":"{{ print .Subject }}"}')
    rules = [rule("files", "http://<.*>/files/<[a-z]+>", authenticators=(("anonymous", {"subject": "ada"}),),
                  authorizer=("remote_json", {"remote": f"{api}/relation-tuples/check", "payload": payload}))]
    config = access_config(tmp_path, rules, {"authorizers": {"remote_json": {"enabled": True}},
                                             "namespaces": {"location": f"file://{OPL}"}})
    async with running_gatekeeper(config, sockets=sockets) as gk:
        for _ in range(200):
            if gk.container.access.repository.current is not None:
                break
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient() as client:
            created = await client.put(f"{gk.admin}/admin/relation-tuples", json={
                "namespace": "File", "object": "plan", "relation": "owners", "subject_id": "ada"})
            assert created.status_code == 201
            allowed = await client.get(f"{gk.api}/decisions/files/plan")
            denied = await client.get(f"{gk.api}/decisions/files/memo")
    assert allowed.status_code == 200
    assert denied.status_code == 403
