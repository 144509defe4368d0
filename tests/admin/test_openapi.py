"""The OpenAPI documents: generated from the live routes (every API route described), served on each listener,
and a bounded schemathesis run against both APIs that finds no 5xx and no response violating the document."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

from gatekeeper.http.openapi import PUBLIC, undocumented
from gatekeeper.server.listeners import route_tables
from tests.support.servers import Instance

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_every_api_route_is_described(gk: Instance) -> None:
    tables = route_tables(gk.container)
    assert undocumented(tables["admin"], {}) == []
    assert undocumented(tables["public"], PUBLIC) == []


def test_a_route_without_description_is_reported() -> None:
    from starlette.routing import Route

    async def nothing(request: object) -> None:
        return None

    assert undocumented([Route("/admin/new", nothing, methods=["GET"])], {}) == ["GET /admin/new"]


async def test_documents_are_served_and_list_the_routes(gk: Instance) -> None:
    async with httpx.AsyncClient() as client:
        admin = (await client.get(f"{gk.admin}/openapi.json")).json()
        public = (await client.get(f"{gk.public}/.well-known/openapi.json")).json()
        proxied = await client.get(f"{gk.proxy}/.auth/openapi.json")
    assert admin["openapi"].startswith("3.") and public["openapi"].startswith("3.")
    assert admin["paths"]["/admin/identities"]["post"]["operationId"] == "createIdentity"
    assert "/admin/identities" not in public["paths"]
    assert public["paths"]["/sessions/whoami"]["get"]["operationId"] == "toSession"
    assert proxied.status_code == 200 and proxied.json()["servers"] == [{"url": "/.auth"}]


async def fuzz(base: str, tmp: Path) -> tuple[int, str]:
    exe = Path(sys.executable).with_name("schemathesis")
    proc = await asyncio.create_subprocess_exec(
        str(exe), "run", f"{base}/openapi.json", "--url", base, "--checks", CHECKS, "--max-examples", "15",
        "--seed", "7", "--phases", "examples,fuzzing", "--workers", "1", "--no-color",
        "--suppress-health-check", "all", "--report-dir", str(tmp),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=170)
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error_or_document_violation(gk: Instance, tmp_path: Path) -> None:
    code, out = await fuzz(gk.admin, tmp_path)
    assert code == 0, out[-6000:]
    code, out = await fuzz(gk.public, tmp_path)
    assert code == 0, out[-6000:]
