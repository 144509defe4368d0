"""Oathkeeper's `serve.proxy.cors` on the proxy: preflights answered by gatekeeper, CORS headers on every answer to
an allowed origin (upstream responses and refusals alike), nothing when it is off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.access.support import access_config, access_instance, rule

ORIGIN = "https://spa.example.com"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
             "Access-Control-Request-Headers": "Authorization, Content-Type"}


def cors_config(tmp_path: Path, upstream: str, **cors: Any) -> Any:
    rules = [rule("open", "http://<[^/]+>/open/<.*>", upstream=upstream, methods=("GET", "PUT", "OPTIONS"),
                  authenticators=("anonymous",)),
             rule("closed", "http://<[^/]+>/closed/<.*>", upstream=upstream, authenticators=("anonymous",),
                  authorizer="deny")]
    return access_config(tmp_path, rules, {"serve": {"proxy": {"cors": cors}}})


async def test_a_preflight_is_answered_by_the_proxy_with_oathkeepers_defaults(tmp_path: Path, upstream: str) -> None:
    config = cors_config(tmp_path, upstream, enabled=True, allowed_origins=[ORIGIN], max_age=600)
    async with access_instance(config) as gk, httpx.AsyncClient() as c:
        r = await c.options(f"{gk.proxy}/open/items", headers=PREFLIGHT)
        assert r.status_code == 204 and "x-upstream" not in r.headers  # the app never saw it
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert r.headers["access-control-allow-methods"] == "GET, POST, PUT, PATCH, DELETE"
        assert r.headers["access-control-allow-headers"] == "Authorization, Content-Type"
        assert r.headers["access-control-max-age"] == "600"
        assert "access-control-allow-credentials" not in r.headers  # Oathkeeper's default: no credentials
        refused = await c.options(f"{gk.proxy}/open/items", headers={**PREFLIGHT, "Origin": "https://evil.example"})
        assert refused.status_code == 204 and "access-control-allow-origin" not in refused.headers
        odd_header = await c.options(f"{gk.proxy}/open/items",
                                     headers={**PREFLIGHT, "Access-Control-Request-Headers": "X-Secret"})
        assert "access-control-allow-origin" not in odd_header.headers


async def test_an_allowed_origin_gets_cors_headers_on_upstream_answers_and_on_refusals(
        tmp_path: Path, upstream: str) -> None:
    config = cors_config(tmp_path, upstream, enabled=True, allowed_origins=["https://*.example.com"],
                         allow_credentials=True)
    async with access_instance(config) as gk, httpx.AsyncClient() as c:
        ok = await c.put(f"{gk.proxy}/open/items", headers={"Origin": ORIGIN}, content=b"x")
        assert ok.status_code == 200 and ok.headers["x-upstream"] == "echo"
        assert ok.headers["access-control-allow-origin"] == ORIGIN
        assert ok.headers["access-control-allow-credentials"] == "true"
        assert ok.headers["access-control-expose-headers"] == "Content-Type"
        denied = await c.get(f"{gk.proxy}/closed/items", headers={"Origin": ORIGIN})
        assert denied.status_code == 403 and denied.headers["access-control-allow-origin"] == ORIGIN
        other = await c.get(f"{gk.proxy}/open/items", headers={"Origin": "https://evil.test"})
        assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


async def test_options_passthrough_and_cors_off_leave_preflights_to_the_rules(tmp_path: Path, upstream: str) -> None:
    for cors in ({"enabled": True, "options_passthrough": True}, {"enabled": False}):
        async with access_instance(cors_config(tmp_path, upstream, **cors)) as gk, httpx.AsyncClient() as c:
            r = await c.options(f"{gk.proxy}/open/items", headers=PREFLIGHT)
            assert r.status_code == 200 and r.headers["x-upstream"] == "echo"  # the rule allowed OPTIONS
            assert ("access-control-allow-origin" in r.headers) is cors["enabled"]
