"""The OPL file and Keto's namespace files are watched: a changed model is used without a restart; a broken one is
logged and the last good model stays in use."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from gatekeeper.config import Config, ConfigError
from gatekeeper.server.permissions_wiring import load_model
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


async def test_a_directory_of_keto_namespace_files_is_read_and_watched(make_config: Callable[..., Config],
                                                                       tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Keto's `namespaces: file:///dir`: legacy `{id, name}` files in JSON, YAML or TOML; one added, changed
    or removed is seen without a restart, a broken one is logged (its file named) and the last good set stays."""
    (tmp_path / "files.json").write_text('{"id": 1, "name": "files"}')
    (tmp_path / "groups.yaml").write_text("id: 2\nname: groups\n")
    (tmp_path / "README.md").write_text("not a namespace")  # another extension: skipped, as Keto
    config = make_config({"namespaces": f"file://{tmp_path}", "access_rules": {"watch_interval": "50ms"}})
    async with running_gatekeeper(config) as gk, httpx.AsyncClient() as client:
        assert await names(client, gk.api) == ["files", "groups"]
        r = await client.put(f"{gk.admin}/admin/relation-tuples", json={
            "namespace": "files", "object": "memo", "relation": "anything", "subject_id": "ada"})
        assert r.status_code == 201, r.text
        (tmp_path / "teams.toml").write_text('id = 3\nname = "teams"\n')
        await eventually(lambda: names(client, gk.api), ["files", "groups", "teams"])
        (tmp_path / "groups.yaml").unlink()
        await eventually(lambda: names(client, gk.api), ["files", "teams"])
        (tmp_path / "teams.toml").write_text('name = [')
        await eventually(lambda: logged(caplog, f"{tmp_path / 'teams.toml'}: not a namespace file"), True)
        assert await names(client, gk.api) == ["files", "teams"]


def test_a_broken_namespace_file_stops_start_up_naming_the_file(make_config: Callable[..., Config],
                                                                tmp_path: Path) -> None:
    (tmp_path / "files.json").write_text('{"id": 1}')
    config = make_config({"namespaces": f"file://{tmp_path}"})
    with pytest.raises(ConfigError) as raised:
        load_model(config)
    assert f"{tmp_path / 'files.json'}" in str(raised.value)
    assert "non-empty name" in str(raised.value)
