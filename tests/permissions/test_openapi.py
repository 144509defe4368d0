"""The api listener serves an OpenAPI document of Keto's read API, and a bounded schemathesis run against it (with
a permission model loaded and tuples stored) finds no server error and no response that violates the document."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from gatekeeper.config import Config
from tests.admin.test_openapi import fuzz
from tests.permissions.test_sdk import OPL
from tests.support.servers import Instance, running_gatekeeper


@pytest.fixture
async def gk(make_config: Callable[..., Config]) -> AsyncIterator[Instance]:
    config = make_config({"namespaces": {"location": f"file://{OPL}"}})
    async with running_gatekeeper(config) as instance, httpx.AsyncClient() as client:
        for body in ({"namespace": "Group", "object": "devs", "relation": "members", "subject_id": "ada"},
                     {"namespace": "File", "object": "plan", "relation": "viewers",
                      "subject_set": {"namespace": "Group", "object": "devs", "relation": "members"}}):
            assert (await client.put(f"{instance.admin}/admin/relation-tuples", json=body)).status_code == 201
        yield instance


async def test_the_api_document_lists_keto_s_read_api(gk: Instance) -> None:
    async with httpx.AsyncClient() as client:
        api = (await client.get(f"{gk.api}/openapi.json")).json()
        admin = (await client.get(f"{gk.admin}/openapi.json")).json()
    assert api["paths"]["/relation-tuples/check/openapi"]["get"]["operationId"] == "checkPermission"
    assert api["paths"]["/relation-tuples/check"]["post"]["operationId"] == "postCheckPermissionOrError"
    assert "/admin/relation-tuples" not in api["paths"]
    assert admin["paths"]["/admin/relation-tuples"]["patch"]["operationId"] == "patchRelationships"
    assert "/relation-tuples" not in admin["paths"]


@pytest.mark.slow
@pytest.mark.parametrize("dsn", ["sqlite"], indirect=True)
async def test_schemathesis_finds_no_server_error_or_document_violation(gk: Instance, tmp_path: Path) -> None:
    code, out = await fuzz(gk.api, tmp_path)
    assert code == 0, out[-6000:]
    code, out = await fuzz(gk.admin, tmp_path)
    assert code == 0, out[-6000:]
