"""Authorizers: allow, deny, remote, remote_json (a Keto-style check), and gatekeeper's expression."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.access.support import access_config, access_instance, rule
from tests.support.servers import serving


async def decide(api: str, path: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.request(kw.pop("method", "GET"), f"{api}/decisions{path}", **kw)


async def test_allow_and_deny(tmp_path: Path) -> None:
    rules = [rule("a", "http://<.*>/allow"), rule("d", "http://<.*>/deny", authorizer="deny")]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        assert (await decide(gk.api, "/allow")).status_code == 200
        denied = await decide(gk.api, "/deny")
        assert denied.status_code == 403 and denied.json()["error"]["id"] == "forbidden"


async def test_remote_and_remote_json(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    async def check(request: Request) -> Response:
        body = await request.body()
        seen.append({"body": body.decode(), "headers": dict(request.headers)})
        if request.url.path == "/keto":
            doc = json.loads(body)
            allowed = doc["subject_id"] == "anonymous" and doc["object"] == "docs:42"
            return JSONResponse({"allowed": allowed}, status_code=200 if allowed else 403,
                                headers={"X-Relation": doc["relation"]})
        if body == b"boom":
            return Response(status_code=401)  # Oathkeeper: anything but 200/403 is a 500
        return Response(status_code=200 if body == b"let me in" else 403, headers={"X-Decided-By": "remote"})

    async with serving(Starlette(routes=[Route("/{p:path}", check, methods=["POST"])])) as url:
        rules = [
            rule("remote", "http://<.*>/remote", authenticators=("anonymous",), authorizer=("remote", {
                "remote": f"{url}/check", "headers": {"X-Subject": "{{ print .Subject }}"},
                "forward_response_headers_to_upstream": ["X-Decided-By"]})),
            rule("keto", "http://<.*>/docs/<[0-9]+>", authenticators=("anonymous",), authorizer=("remote_json", {
                "remote": f"{url}/keto", "forward_response_headers_to_upstream": ["X-Relation"],
                "payload": '{"namespace":"docs","object":"docs:{{ printIndex .MatchContext.RegexpCaptureGroups 1 }}",'
                           '"relation":"view","subject_id":"{{ print .Subject }}"}'})),
        ]
        overrides = {"authorizers": {"remote": {"enabled": True}, "remote_json": {"enabled": True}}}
        async with access_instance(access_config(tmp_path, rules, overrides)) as gk:
            ok = await decide(gk.api, "/remote", method="POST", content=b"let me in",
                              headers={"Content-Type": "text/plain"})
            assert ok.status_code == 200 and ok.headers["x-decided-by"] == "remote"
            assert seen[-1]["body"] == "let me in" and seen[-1]["headers"]["x-subject"] == "anonymous"
            assert seen[-1]["headers"]["content-type"] == "text/plain"
            assert (await decide(gk.api, "/remote", method="POST", content=b"no")).status_code == 403
            assert (await decide(gk.api, "/remote", method="POST", content=b"boom")).status_code == 500
            huge = await decide(gk.api, "/remote", method="POST", content=b"x" * (8 * 1024 * 1024 + 1))
            assert huge.status_code == 413 and len(seen) == 3  # refused before the authorizer is asked
            keto = await decide(gk.api, "/docs/42")
            assert keto.status_code == 200 and keto.headers["x-relation"] == "view"
            assert (await decide(gk.api, "/docs/7")).status_code == 403


async def test_unreachable_remote_authorizer_denies(tmp_path: Path) -> None:
    rules = [rule("r", "http://<.*>/r", authorizer=("remote", {"remote": "http://127.0.0.1:9/check"}))]
    async with access_instance(access_config(tmp_path, rules, {"authorizers": {"remote": {"enabled": True}}})) as gk:
        assert (await decide(gk.api, "/r")).status_code == 500


async def test_expression_decides_on_identity_session_request_and_network(tmp_path: Path) -> None:
    admin_aal2 = '"admin" in identity.metadata_admin.roles and session.aal == "aal2"'
    rules = [
        rule("admin", "http://<.*>/admin/<.*>", authenticators=("cookie_session",),
             authorizer=("expression", {"expression": admin_aal2})),
        rule("tenant", "http://<.*>/t/<[a-z]+>", authenticators=("cookie_session",), authorizer=("expression", {
            "expression": 'captures[1] == identity.metadata_public.plan and method == "GET" '
                          'and in_network(client_ip, "127.0.0.0/8") and header("X-Team") != "blocked"'})),
        rule("broken", "http://<.*>/broken", authenticators=("cookie_session",), authorizer=("expression", {
            "expression": "identity.traits.email.nope + 1"})),
    ]
    async with access_instance(access_config(tmp_path, rules)) as gk:
        alice = {"Cookie": "ory_kratos_session=alice-token"}
        bob = {"Cookie": "ory_kratos_session=bob-token"}
        assert (await decide(gk.api, "/admin/users", headers=alice)).status_code == 200
        assert (await decide(gk.api, "/admin/users", headers=bob)).status_code == 403
        assert (await decide(gk.api, "/t/pro", headers=alice)).status_code == 200
        assert (await decide(gk.api, "/t/free", headers=alice)).status_code == 403
        assert (await decide(gk.api, "/t/pro", headers={**alice, "X-Team": "blocked"})).status_code == 403
        assert (await decide(gk.api, "/broken", headers=alice)).status_code == 403  # fails closed


async def test_expression_allows_only_on_true_not_on_a_truthy_value(tmp_path: Path) -> None:
    """A forgotten comparison (`header("X-Role")` instead of `header("X-Role") == "admin"`) must deny."""
    truthy = {"string": "subject", "header": 'header("X-Role")', "list": "captures", "number": "1",
              "dict": '{"allowed": true}', "length": "len(captures)"}
    rules = [rule(name, f"http://<.*>/{name}/<[a-z]+>", authenticators=("anonymous",),
                  authorizer=("expression", {"expression": source})) for name, source in truthy.items()]
    rules.append(rule("exact", "http://<.*>/exact/<[a-z]+>", authenticators=("anonymous",),
                      authorizer=("expression", {"expression": 'subject == "anonymous" and len(captures) > 0'})))
    async with access_instance(access_config(tmp_path, rules)) as gk:
        assert (await decide(gk.api, "/exact/page")).status_code == 200  # the same request passes on True
        for name in truthy:
            denied = await decide(gk.api, f"/{name}/page", headers={"X-Role": "guest"})
            assert denied.status_code == 403, (name, denied.text)
            assert denied.json()["error"]["id"] == "forbidden"
