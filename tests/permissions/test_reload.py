"""The OPL file is watched: a changed model is used without a restart; a broken one is logged and the last good
model stays in use."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from gatekeeper.config import Config
from tests.support.servers import running_gatekeeper


async def names(client: httpx.AsyncClient, api: str) -> list[str]:
    return [n["name"] for n in (await client.get(f"{api}/namespaces")).json()["namespaces"]]


async def eventually(probe: Callable[[], Awaitable[object]], want: object) -> None:
    for _ in range(100):
        if await probe() == want:
            return
        await asyncio.sleep(0.05)
    assert await probe() == want


async def logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records)


async def test_a_changed_opl_file_is_used_and_a_broken_one_is_not(make_config: Callable[..., Config],
                                                                  tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    opl = tmp_path / "namespaces.keto.ts"
    opl.write_text("class User implements Namespace {}\n")
    config = make_config({"namespaces": {"location": f"file://{opl}"}, "access_rules": {"watch_interval": "50ms"}})
    async with running_gatekeeper(config) as gk, httpx.AsyncClient() as client:
        assert await names(client, gk.api) == ["User"]
        opl.write_text("class User implements Namespace {}\nclass Team implements Namespace {\n"
                       "  related: { members: User[] }\n}\n")
        await eventually(lambda: names(client, gk.api), ["User", "Team"])
        opl.write_text("class User implements Namespace {}\nclass Team implements Namespace {\n"
                       "  related: { members: Nobody[] }\n}\n")
        await eventually(lambda: logged(caplog, "namespace 'Nobody' was not declared"), True)
        assert await names(client, gk.api) == ["User", "Team"]
        assert any(f"{opl}:3:22:" in r.getMessage() for r in caplog.records)
