"""The streaming proxy (:4455) end to end: real upstream, real gatekeeper, real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.access.support import access_config, access_instance, raw_get, received_headers, rule

IDENTITY = ("header", {"headers": {"X-User-Id": "{{ print .Subject }}",
                                   "X-User-Email": "{{ print .Extra.identity.traits.email }}"}})
ALICE = {"Cookie": "ory_kratos_session=alice-token"}


def proxy_rules(upstream: str) -> list[dict[str, Any]]:
    return [
        rule("app", "http://<[^/]+>/app/<.*>", upstream=upstream, methods=("GET", "POST", "PUT", "HEAD"),
             authenticators=("cookie_session",), mutators=(IDENTITY,)),
        rule("public", "http://<[^/]+>/public/<.*>", upstream=upstream, authenticators=("anonymous",),
             mutators=(IDENTITY,)),
        rule("admin", "http://<[^/]+>/admin/<.*>", upstream=upstream, authenticators=("cookie_session",),
             authorizer="deny", mutators=(IDENTITY,)),
        {**rule("stripped", "http://<[^/]+>/svc/<.*>", authenticators=("anonymous",)),
         "upstream": {"url": f"{upstream}/base", "strip_path": "/svc", "preserve_host": True}},
        rule("stream", "http://<[^/]+>/<(sse|big|count|slow|ws)>", upstream=upstream, methods=("GET", "POST"),
             authenticators=("cookie_session",), mutators=(IDENTITY,)),
    ]


async def test_forwards_with_identity_and_without_forged_or_hop_by_hop_headers(tmp_path: Path,
                                                                              upstream: str) -> None:
    async with access_instance(access_config(tmp_path, proxy_rules(upstream))) as gk, httpx.AsyncClient() as c:
        forged = {"X-User-Id": "root", "x_user_id": "root", "X-USER-EMAIL": "root@evil", "X-Forwarded-For": "6.6.6.6",
                  "Connection": "keep-alive, X-Private", "X-Private": "hop", "X-Kept": "yes"}
        r = await c.post(f"{gk.proxy}/app/items/?q=1&q=2", headers={**ALICE, **forged}, content=b"payload")
        assert r.status_code == 200
        doc = r.json()
        got = received_headers(doc)
        assert (doc["method"], doc["path"], doc["query"], doc["body"]) == ("POST", "/app/items", "q=1&q=2", "payload")
        assert got["x-user-id"] == ["user-alice"] and got["x-user-email"] == ["alice@example.com"]
        assert "x_user_id" not in got and "x-private" not in got and got["x-kept"] == ["yes"]
        assert got["x-forwarded-for"] == ["127.0.0.1"] and got["x-forwarded-proto"] == ["http"]
        assert got["host"] == [upstream.split("://")[1]]
        assert r.headers["x-upstream"] == "echo" and "x-hop" not in r.headers  # hop-by-hop from upstream too


async def test_forged_headers_are_stripped_even_when_no_mutator_sets_them(tmp_path: Path, upstream: str) -> None:
    rules = [rule("open", "http://<[^/]+>/<.*>", upstream=upstream, authenticators=("anonymous",))]
    config = access_config(tmp_path, rules, {"serve": {"proxy": {"injected_headers": ["X-Forwarded-User",
                                                                                      "X-Remote-Roles"]}}})
    async with access_instance(config) as gk, httpx.AsyncClient() as c:
        r = await c.get(f"{gk.proxy}/x", headers={"X-Forwarded-User": "root", "x-remote_roles": "admin"})
        got = received_headers(r.json())
        assert "x-forwarded-user" not in got and "x-remote_roles" not in got and "x-remote-roles" not in got
        d = await c.get(f"{gk.api}/decisions/x", headers={"X-Forwarded-User": "root", "X-Remote-Roles": "admin"})
        assert d.status_code == 200 and "x-forwarded-user" not in d.headers and "x-remote-roles" not in d.headers


async def test_strip_path_upstream_base_and_preserve_host(tmp_path: Path, upstream: str) -> None:
    async with access_instance(access_config(tmp_path, proxy_rules(upstream))) as gk, httpx.AsyncClient() as c:
        r = await c.get(f"{gk.proxy}/svc/users/7", headers={"Host": "app.example:4455", "X-User-Id": "root"})
        doc = r.json()
        assert doc["path"] == "/base/users/7"
        got = received_headers(doc)
        assert got["host"] == ["app.example:4455"]
        assert "x-user-id" not in got  # another rule's mutator sets it: stripped here too (this rule sets nothing)


HOSTILE = [
    "/public/../admin/x", "/public/%2e%2e/admin/x", "/public/%2E%2E/admin/x", "//admin/x", "/public/./../admin/x",
    "/public/..;/admin/x", "/public%2F..%2Fadmin/x", "/public/..%2Fadmin/x", "/public/%2e%2e%2fadmin/x",
    "/public/..%5Cadmin/x", "/public/%252e%252e/admin/x", "/public/x%00/../../admin/x", "/public/%c0%ae%c0%ae/admin",
    "/public/\\..\\admin/x", "/public/x/..", "/admin/../public/x",
]


async def test_hostile_paths_never_reach_the_upstream_under_another_rule(tmp_path: Path, upstream: str) -> None:
    async with access_instance(access_config(tmp_path, proxy_rules(upstream))) as gk:
        for raw in HOSTILE:
            status, body = await raw_get(gk.proxy, raw.encode("latin-1"))
            assert status in (400, 401, 403, 404) or status == 200, (raw, status)
            if status == 200:
                doc = json.loads(body)
                assert doc["path"].startswith("/public/"), (raw, doc["path"])  # matched "public", got public
                assert received_headers(doc)["x-user-id"] == ["anonymous"]
            elif status == 400:
                assert json.loads(body)["error"]["code"] == 400, raw
        # the dot-segment forms are resolved before matching: they land on "admin", whose rule denies
        assert (await raw_get(gk.proxy, b"/public/../admin/x"))[0] == 401
        assert (await raw_get(gk.proxy, b"/public/%2e%2e/admin/x"))[0] == 401
        assert (await raw_get(gk.proxy, b"/public%2F..%2Fadmin/x"))[0] == 400


async def test_trusted_proxies_decide_whether_forwarded_headers_count(tmp_path: Path, upstream: str) -> None:
    rules = [rule("https-only", "https://<.*>/<.*>", upstream=upstream, authenticators=("anonymous",))]
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    async with access_instance(access_config(tmp_path, rules)) as gk, httpx.AsyncClient() as c:
        assert (await c.get(f"{gk.proxy}/x", headers=forwarded)).status_code == 404  # untrusted: scheme is http
    config = access_config(tmp_path, rules, {"serve": {"proxy": {"trusted_proxies": ["127.0.0.0/8"]}}})
    async with access_instance(config) as gk, httpx.AsyncClient() as c:
        r = await c.get(f"{gk.proxy}/x", headers=forwarded)
        assert r.status_code == 200
        assert received_headers(r.json())["x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"]


async def test_bodies_stream_both_ways_and_sse_passes_through(tmp_path: Path, upstream: str) -> None:
    size = 5 * 1024 * 1024
    async with access_instance(access_config(tmp_path, proxy_rules(upstream))) as gk, httpx.AsyncClient() as c:
        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(size // 65536):
                yield b"y" * 65536

        r = await c.post(f"{gk.proxy}/count", headers=ALICE, content=chunks())
        assert r.json() == {"received": size}
        async with c.stream("GET", f"{gk.proxy}/big?n={size}", headers=ALICE) as big:
            total = sum([len(chunk) async for chunk in big.aiter_bytes()])
        assert total == size
        async with c.stream("GET", f"{gk.proxy}/sse", headers=ALICE) as sse:
            assert sse.headers["content-type"].startswith("text/event-stream")
            events = [line async for line in sse.aiter_lines() if line.startswith("data:")]
        assert events == ["data: event 0", "data: event 1", "data: event 2"]
        assert (await c.get(f"{gk.proxy}/sse")).status_code == 401


async def test_upstream_failures_are_502_and_504_with_the_error_envelope(tmp_path: Path, upstream: str) -> None:
    rules = [rule("down", "http://<[^/]+>/down", upstream="http://127.0.0.1:9"),
             rule("slow", "http://<[^/]+>/slow", upstream=upstream)]
    config = access_config(tmp_path, rules, {"serve": {"proxy": {"upstream": {"response_timeout": "200ms"}}}})
    async with access_instance(config) as gk, httpx.AsyncClient() as c:
        down = await c.get(f"{gk.proxy}/down")
        assert down.status_code == 502 and down.json()["error"]["code"] == 502
        slow = await c.get(f"{gk.proxy}/slow?s=3")
        assert slow.status_code == 504 and slow.json()["error"]["code"] == 504


async def test_websockets_pass_through_with_identity(tmp_path: Path, upstream: str) -> None:
    async with access_instance(access_config(tmp_path, proxy_rules(upstream))) as gk:
        ws_url = gk.proxy.replace("http://", "ws://") + "/ws"
        async with websockets.connect(ws_url, additional_headers={**ALICE, "X-User-Id": "forged"}) as ws:
            first = json.loads(await ws.recv())
            assert first == {"x-user-id": "user-alice"}
            await ws.send("hello")
            assert await ws.recv() == "echo:hello"
        with pytest.raises(websockets.InvalidStatus) as denied:
            async with websockets.connect(ws_url):
                pass
        assert denied.value.response.status_code == 401  # the rule's error handler answers the handshake
        assert json.loads(denied.value.response.body)["error"]["code"] == 401


async def test_the_identity_prefix_is_served_by_the_identity_app_not_the_rules(tmp_path: Path) -> None:
    async with access_instance(access_config(tmp_path, [])) as gk, httpx.AsyncClient() as c:
        schemas = await c.get(f"{gk.proxy}/.auth/schemas")
        assert schemas.status_code == 200 and schemas.json()[0]["id"] == "default"
        assert (await c.get(f"{gk.proxy}/.authx")).status_code == 404  # not the prefix: the (empty) rules answer


async def test_decisions_can_be_limited_to_the_fronting_proxy(tmp_path: Path) -> None:
    rules = [rule("open", "http://<[^/]+>/x", authenticators=("anonymous",))]
    config = access_config(tmp_path, rules, {"serve": {"api": {"decisions_allowed_callers": ["10.0.0.0/8"]}}})
    async with access_instance(config) as gk, httpx.AsyncClient() as c:
        refused = await c.get(f"{gk.api}/decisions/x")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == 403
    config = access_config(tmp_path, rules, {"serve": {"api": {"decisions_allowed_callers": ["127.0.0.1/32"]}}})
    async with access_instance(config) as gk, httpx.AsyncClient() as c:
        assert (await c.get(f"{gk.api}/decisions/x")).status_code == 200


async def test_hostile_forwarded_uris_are_judged_like_proxied_paths(tmp_path: Path, upstream: str) -> None:
    async with access_instance(access_config(tmp_path, proxy_rules(upstream))) as gk, httpx.AsyncClient() as c:
        for raw in HOSTILE:
            decided = await c.get(f"{gk.api}/decisions", headers={"X-Forwarded-Uri": raw})
            proxied, _ = await raw_get(gk.proxy, raw.encode("latin-1"))
            assert decided.status_code == proxied, raw
            if decided.status_code == 200:  # the only rule that can allow them is "public", for public paths
                assert decided.headers["x-user-id"] == "anonymous", raw
