"""`:4456` API: /rules and /rules/{id} as Oathkeeper; `match.headers` matching."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.access.support import access_config, access_instance, rule


async def test_rules_api(tmp_path: Path) -> None:
    rules = [rule(f"r{i}", f"https://h/r{i}", description=f"rule {i}") for i in range(5)]
    async with access_instance(access_config(tmp_path, rules)) as gk, httpx.AsyncClient() as client:
        listed = (await client.get(f"{gk.api}/rules")).json()
        assert [r["id"] for r in listed] == ["r0", "r1", "r2", "r3", "r4"]
        assert listed[0]["match"] == {"url": "https://h/r0", "methods": ["GET", "POST"]}
        assert listed[0]["authorizer"] == {"handler": "allow", "config": None}
        assert [r["id"] for r in (await client.get(f"{gk.api}/rules?limit=2&offset=1")).json()] == ["r1", "r2"]
        one = await client.get(f"{gk.api}/rules/r3")
        assert one.status_code == 200 and one.json()["description"] == "rule 3"
        missing = await client.get(f"{gk.api}/rules/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == 404
        assert (await client.get(f"{gk.api}/rules?limit=abc")).status_code == 400


async def test_match_headers_select_rules_like_the_url(tmp_path: Path) -> None:
    rules = [{**rule("acme", "http://<[^/]+>/t"), "match": {"url": "http://<[^/]+>/t", "methods": ["GET"],
                                                            "headers": {"X-Tenant": "<acme|globex>"}}},
             {**rule("other", "http://<[^/]+>/t"), "match": {"url": "http://<[^/]+>/t", "methods": ["GET"],
                                                             "headers": {"X-Tenant": "<initech>"}}}]
    async with access_instance(access_config(tmp_path, rules)) as gk, httpx.AsyncClient() as client:
        assert (await client.get(f"{gk.api}/decisions/t", headers={"X-Tenant": "globex"})).status_code == 200
        assert (await client.get(f"{gk.api}/decisions/t", headers={"X-Tenant": "initech"})).status_code == 200
        assert (await client.get(f"{gk.api}/decisions/t", headers={"X-Tenant": "umbrella"})).status_code == 404
        assert (await client.get(f"{gk.api}/decisions/t")).status_code == 404
