"""CORS on the public API (`serve.public.cors`), for SPAs such as @ory/elements-react on another origin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.support.servers import Instance

SPA = "https://app.example.test"
CORS = {"serve": {"public": {"cors": {"enabled": True, "allowed_origins": [SPA, "https://*.spa.example.test"]}}}}


async def test_cors_is_off_by_default(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        resp = await c.get("/self-service/login/api", headers={"Origin": SPA})
        assert "access-control-allow-origin" not in resp.headers


async def test_allowed_origins_get_credentialed_cors_and_preflights(start: Callable[..., Any]) -> None:
    async with start(CORS) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            pre = await c.options("/self-service/login", headers={
                "Origin": SPA, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-csrf-token"})
            assert pre.status_code == 204
            assert pre.headers["access-control-allow-origin"] == SPA
            assert pre.headers["access-control-allow-credentials"] == "true"
            assert "POST" in pre.headers["access-control-allow-methods"]
            init = await c.get("/self-service/login/browser", headers={"Origin": SPA, "Accept": "application/json"})
            assert init.status_code == 200 and init.headers["access-control-allow-origin"] == SPA
            assert init.headers["access-control-expose-headers"] == "Content-Type"  # Kratos schema default
            who = await c.get("/sessions/whoami", headers={"Origin": "https://x.spa.example.test"})
            assert who.status_code == 401 and who.headers["access-control-allow-origin"] == "https://x.spa.example.test"
            for origin in ("https://evil.example", "https://app.example.test.evil.example", "null"):
                denied = await c.get("/sessions/whoami", headers={"Origin": origin})
                assert "access-control-allow-origin" not in denied.headers
                pre = await c.options("/sessions/whoami", headers={"Origin": origin,
                                                                   "Access-Control-Request-Method": "GET"})
                assert "access-control-allow-origin" not in pre.headers


async def test_a_bad_cors_block_stops_start_up(start: Callable[..., Any]) -> None:
    import pytest

    from gatekeeper.config import ConfigError

    with pytest.raises(ConfigError, match="serve.public.cors.max_age"):
        async with start({"serve": {"public": {"cors": {"enabled": True, "max_age": "soon"}}}}):
            pass
