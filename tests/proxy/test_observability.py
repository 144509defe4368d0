"""The proxy listener in metrics and upstream logs: identity requests under /.auth keep their route label, and the
upstream receives our request id as X-Request-Id when the client sent none."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.access.support import access_config, access_instance, received_headers, rule


async def test_identity_requests_under_the_prefix_keep_their_route_label(tmp_path: Path) -> None:
    async with access_instance(access_config(tmp_path, [])) as gk, httpx.AsyncClient() as c:
        assert (await c.get(f"{gk.proxy}/.auth/self-service/login/api")).status_code == 200
        assert (await c.get(f"{gk.proxy}/.auth/no-such-page")).status_code == 404
        count = gk.container.metrics.registry.get_sample_value
        labels = {"listener": "proxy", "method": "GET"}
        assert count("gatekeeper_http_requests_total",
                     {**labels, "status": "200", "route": "/.auth/self-service/login/api"}) == 1
        assert count("gatekeeper_http_requests_total", {**labels, "status": "404", "route": "<unmatched>"}) == 1


async def test_the_upstream_gets_our_request_id_unless_the_client_sent_one(tmp_path: Path, upstream: str) -> None:
    rules = [rule("open", "http://<[^/]+>/<.*>", upstream=upstream, authenticators=("anonymous",))]
    async with access_instance(access_config(tmp_path, rules)) as gk, httpx.AsyncClient() as c:
        ours = await c.get(f"{gk.proxy}/x")
        assert ours.status_code == 200
        assert received_headers(ours.json())["x-request-id"] == [ours.headers["x-request-id"]]
        assert len(ours.headers["x-request-id"]) == 32
        theirs = await c.get(f"{gk.proxy}/x", headers={"X-Request-Id": "trace-4711"})
        assert received_headers(theirs.json())["x-request-id"] == ["trace-4711"]
        assert theirs.headers["x-request-id"] == "trace-4711"
