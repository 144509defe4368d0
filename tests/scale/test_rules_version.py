"""Replicas reading the same rules repository converge, and say which rule set they run (`X-Rules-Version`)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import yaml

from tests.access.support import access_config, access_instance, rule


async def versions(c: httpx.AsyncClient, *apis: str) -> list[str]:
    out = []
    for api in apis:
        resp = await c.get(f"{api}/rules")
        assert resp.status_code == 200 and isinstance(resp.json(), list)  # the body stays Oathkeeper's: an array
        out.append(resp.headers["x-rules-version"])
    return out


async def test_replicas_on_one_rules_file_converge_on_one_version(tmp_path: Path) -> None:
    first = [rule("one", "http://<[^/]+>/one", authenticators=("anonymous",))]
    config = access_config(tmp_path, first)
    async with access_instance(config) as a, access_instance(config) as b, httpx.AsyncClient() as c:
        before = await versions(c, a.api, b.api)
        assert before[0] == before[1] and re.fullmatch(r"[0-9a-f]{64}", before[0])
        one = await c.get(f"{a.api}/rules/one")
        assert one.headers["x-rules-version"] == before[0]
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump(
            [*first, rule("two", "http://<[^/]+>/two", authenticators=("anonymous",))]))
        for _ in range(200):
            now = await versions(c, a.api, b.api)
            if before[0] not in now and now[0] == now[1]:
                break
            await asyncio.sleep(0.05)
        assert now[0] == now[1] != before[0]
        assert [r["id"] for r in (await c.get(f"{b.api}/rules")).json()] == ["one", "two"]
        metrics = (await c.get(f"{a.metrics}/metrics")).text
        shown = re.findall(r'^gatekeeper_access_rules_version_info\{version="([0-9a-f]+)"\} 1\.0$', metrics, re.M)
        assert shown == [now[0]]  # only the active version is exported


async def test_the_version_depends_on_the_rules_not_on_how_they_are_written(tmp_path: Path) -> None:
    rules = [rule("one", "http://<[^/]+>/one", authenticators=("anonymous",))]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "rules.json").write_text(json.dumps(rules))
    (tmp_path / "b" / "rules.yaml").write_text(yaml.safe_dump(rules))
    async with access_instance(access_config(tmp_path / "a", None, repositories=[f"file://{tmp_path}/a/rules.json"])
                               ) as a, \
            access_instance(access_config(tmp_path / "b", None, repositories=[f"file://{tmp_path}/b/rules.yaml"])
                            ) as b, httpx.AsyncClient() as c:
        got = await versions(c, a.api, b.api)
        assert got[0] == got[1]
