"""Repositories: files, directories (Kubernetes ..data swaps), http(s), base64; hot reload keeps the last
good set when a change is broken; readiness waits for the first load."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from tests.access.support import access_config, access_instance, rule
from tests.support.servers import serving


async def eventually(check: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait for a reload (polling interval 50 ms in tests); not a timing assertion."""
    for _ in range(int(timeout / 0.02)):
        if await check() if asyncio.iscoroutinefunction(check) else check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never became true")


def decision_status(api: str, path: str) -> Callable[[], object]:
    async def check() -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{api}/decisions{path}")).status_code
    return check


async def test_a_changed_file_is_reloaded_and_a_broken_change_keeps_the_last_good_set(tmp_path: Path) -> None:
    config = access_config(tmp_path, [rule("one", "http://<.*>/one")])
    path = tmp_path / "rules.yaml"
    async with access_instance(config) as gk, httpx.AsyncClient() as client:
        assert (await client.get(f"{gk.api}/decisions/one")).status_code == 200
        assert (await client.get(f"{gk.api}/decisions/two")).status_code == 404

        path.write_text(yaml.safe_dump([rule("two", "http://<.*>/two")]))
        await eventually(lambda: gk.container.access.repository.current.by_id("two") is not None)
        assert (await client.get(f"{gk.api}/decisions/two")).status_code == 200
        assert (await client.get(f"{gk.api}/decisions/one")).status_code == 404

        path.write_text("- id: broken\n  match: [this is not a rule\n")
        await eventually(lambda: gk.container.access.repository.last_problems)
        problem = gk.container.access.repository.last_problems[0]
        assert problem.file == str(path) and problem.line in (2, 3)
        assert (await client.get(f"{gk.api}/decisions/two")).status_code == 200  # last good set serves

        path.write_text(yaml.safe_dump([rule("a", "http://<.*>/<.*>"), rule("b", "http://<.*>/x")]))
        await eventually(lambda: any("overlaps" in p.message for p in gk.container.access.repository.last_problems))
        assert (await client.get(f"{gk.api}/decisions/two")).status_code == 200
        assert (await client.get(f"{gk.api}/health/ready")).status_code == 200


async def test_a_kubernetes_configmap_directory_swap_is_noticed(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()

    def publish(version: str, rules: list[dict]) -> None:
        data = rules_dir / f"..{version}"
        data.mkdir()
        (data / "rules.yaml").write_text(yaml.safe_dump(rules))
        tmp_link = rules_dir / "..data_tmp"
        tmp_link.symlink_to(data.name)
        os.replace(tmp_link, rules_dir / "..data")  # atomic swap, as the kubelet does
        if not (rules_dir / "rules.yaml").is_symlink():
            (rules_dir / "rules.yaml").symlink_to("..data/rules.yaml")

    publish("v1", [rule("v1", "http://<.*>/v1")])
    config = access_config(tmp_path, None, repositories=[f"file://{rules_dir}/"])
    async with access_instance(config) as gk:
        assert await decision_status(gk.api, "/v1")() == 200
        publish("v2", [rule("v2", "http://<.*>/v2")])
        await eventually(lambda: gk.container.access.repository.current.by_id("v2") is not None)
        assert await decision_status(gk.api, "/v1")() == 404
        assert await decision_status(gk.api, "/v2")() == 200


async def test_every_file_of_a_directory_is_a_source_and_removed_files_drop_their_rules(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "a.yaml").write_text(yaml.safe_dump([rule("a", "http://<.*>/a")]))
    (rules_dir / "b.json").write_text(yaml.safe_dump([rule("b", "http://<.*>/b")]))
    (rules_dir / "README.md").write_text("not rules")
    async with access_instance(access_config(tmp_path, None, repositories=[f"file://{rules_dir}"])) as gk:
        assert await decision_status(gk.api, "/a")() == 200 and await decision_status(gk.api, "/b")() == 200
        (rules_dir / "b.json").unlink()
        await eventually(lambda: gk.container.access.repository.current.by_id("b") is None)
        assert await decision_status(gk.api, "/a")() == 200


async def test_http_and_base64_repositories(tmp_path: Path) -> None:
    served = yaml.safe_dump([rule("remote", "http://<.*>/remote")])
    app = Starlette(routes=[Route("/rules.yaml", lambda r: Response(served))])
    inline = base64.b64encode(yaml.safe_dump([rule("inline", "http://<.*>/inline")]).encode()).decode()
    async with serving(app) as url:
        config = access_config(tmp_path, None, repositories=[f"{url}/rules.yaml", f"base64://{inline}"])
        async with access_instance(config) as gk:
            assert await decision_status(gk.api, "/remote")() == 200
            assert await decision_status(gk.api, "/inline")() == 200


async def test_not_ready_until_every_source_has_loaded(tmp_path: Path) -> None:
    path = tmp_path / "later.yaml"
    config = access_config(tmp_path, None, repositories=[f"file://{path}"])
    async with access_instance(config) as gk, httpx.AsyncClient() as client:
        ready = await client.get(f"{gk.api}/health/ready")
        assert ready.status_code == 503 and "rules" in ready.json()["errors"]
        denied = await client.get(f"{gk.proxy}/anything")
        assert denied.status_code == 503
        path.write_text(yaml.safe_dump([rule("late", "http://<.*>/late")]))
        await eventually(lambda: gk.container.access.repository.current is not None)
        assert (await client.get(f"{gk.api}/health/ready")).status_code == 200


async def test_a_single_repository_url_as_oathkeeper_accepts_it(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump([rule("one", "http://<.*>/one")]))
    config = access_config(tmp_path, None, {"access_rules": {"repositories": f"file://{path}"}})
    assert config.access_rules.repositories == (f"file://{path}",)
    async with access_instance(config) as gk:
        assert await decision_status(gk.api, "/one")() == 200
