"""Access rules ask Keto's check in process: a `remote_json` rule whose `remote` is gatekeeper's own
`/relation-tuples/check` needs no HTTP hop, and the `expression` authorizer has `check(namespace, object,
relation)` for the rule's subject."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from bench.common import free_port
from tests.access.support import access_config, rule
from tests.permissions.test_sdk import OPL
from tests.support.servers import Instance, running_gatekeeper

PAYLOAD = ('{"namespace":"File","object":"{{ printIndex .MatchContext.RegexpCaptureGroups 1 }}",'
           '"relation":"view","subject_id":"{{ print .Subject }}"}')
ADA = (("anonymous", {"subject": "ada"}),)


async def rules_loaded(gk: Instance) -> None:
    for _ in range(200):
        if gk.container.access.repository.current is not None:
            return
        await asyncio.sleep(0.01)


async def decide(rules: list[dict[str, Any]], tmp_path: Path, api_port: int, paths: list[str]) -> list[int]:
    """The decisions API's status for each path, after ada was made owner of File:plan."""
    config = access_config(tmp_path, rules, {"authorizers": {"remote_json": {"enabled": True}},
                                             "namespaces": {"location": f"file://{OPL}"},
                                             "serve": {"api": {"port": api_port}}})
    async with running_gatekeeper(config) as gk, httpx.AsyncClient() as client:
        await rules_loaded(gk)
        created = await client.put(f"{gk.admin}/admin/relation-tuples", json={
            "namespace": "File", "object": "plan", "relation": "owners", "subject_id": "ada"})
        assert created.status_code == 201
        return [(await client.get(f"{gk.api}/decisions{path}")).status_code for path in paths]


async def test_remote_json_to_our_own_check_endpoint_is_answered_in_process(tmp_path: Path) -> None:
    # the config says the api listener is on `port`, where nothing listens in this test (the harness binds it
    # elsewhere): an HTTP call could not get through, the in-process check does
    port = free_port()
    own = f"http://127.0.0.1:{port}/relation-tuples/check"
    elsewhere = f"http://127.0.0.1:{free_port()}/relation-tuples/check"
    rules = [rule("own", "http://<.*>/own/<[a-z]+>", authenticators=ADA,
                  authorizer=("remote_json", {"remote": own, "payload": PAYLOAD})),
             rule("shallow", "http://<.*>/shallow/<[a-z]+>", authenticators=ADA,
                  authorizer=("remote_json", {"remote": f"{own}?max-depth=1", "payload": PAYLOAD})),
             rule("broken", "http://<.*>/broken/<[a-z]+>", authenticators=ADA,
                  authorizer=("remote_json", {"remote": own, "payload": '{"namespace": "File"}'})),
             rule("remote", "http://<.*>/remote/<[a-z]+>", authenticators=ADA,
                  authorizer=("remote_json", {"remote": elsewhere, "payload": PAYLOAD}))]
    statuses = await decide(rules, tmp_path, port, ["/own/plan", "/own/memo", "/shallow/plan", "/broken/plan",
                                                    "/remote/plan"])
    assert statuses == [200, 403, 403, 500, 500]  # the last one really went over HTTP, to nobody


async def test_an_expression_checks_a_permission_of_the_subject(tmp_path: Path) -> None:
    view = 'check("File", captures[1], "view")'
    rules = [rule("view", "http://<.*>/view/<[a-z]+>", authenticators=ADA,
                  authorizer=("expression", {"expression": view})),
             rule("both", "http://<.*>/both/<[a-z]+>", authenticators=ADA,
                  authorizer=("expression", {"expression": f'method == "GET" and {view} and '
                                                          'not check("File", captures[1], "edit")'})),
             rule("guard", "http://<.*>/guard/<[a-z]+>", authenticators=ADA,
                  authorizer=("expression", {"expression": 'len(captures) > 5 and check("File", captures[5], '
                                                           '"view")'}))]
    statuses = await decide(rules, tmp_path, free_port(), ["/view/plan", "/view/memo", "/both/plan", "/guard/plan"])
    assert statuses == [200, 403, 403, 403]
