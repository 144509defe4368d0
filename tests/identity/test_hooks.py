"""After-hooks: web hooks against a real local HTTP server, require_verified_address, revoke_active_sessions."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.identity.conftest import PASSWORD, register_api
from tests.support.servers import serving
from tests.support.smtp import SmtpSink, code_in, mail_to, mailing
from tests.support.smtp import sink as sink  # noqa: F401  (fixture)

BODY = "function(ctx) { email: ctx.identity.traits.email, flow_id: ctx.flow.id, method: ctx.flow.active }"


class HookServer:
    """Records what web hooks send; answers per path: /ok, /refuse (Kratos' messages), /slow, /broken."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refusal_id: Any = 4000099  # the message id /refuse answers with
        self.app = Starlette(routes=[Route("/{mode}", self.handle, methods=["POST", "PUT"])])

    async def handle(self, request: Request) -> Response:
        mode = request.path_params["mode"]
        raw = await request.body()
        self.calls.append({"mode": mode, "headers": dict(request.headers), "body": raw})
        if mode == "slow":
            await asyncio.sleep(3)
        if mode == "refuse":
            return JSONResponse({"messages": [{"instance_ptr": "#/traits/email", "messages": [
                {"id": self.refusal_id, "text": "This domain may not sign up.", "type": "error",
                 "context": {"x": 1}}]}]},
                status_code=422)
        if mode == "enrich":
            sent = json.loads(raw)
            return JSONResponse({"identity": {"traits": {"email": sent["email"], "name": {"first": "Hooked"}},
                                              "metadata_public": {"plan": "free"}}})
        if mode == "mangle":
            return JSONResponse({"identity": {"traits": {"email": "not-an-address"}}})
        if mode == "broken":
            return Response("down", status_code=503)
        return Response(status_code=204)


@pytest.fixture
async def hook_server() -> AsyncIterator[tuple[HookServer, str]]:
    server = HookServer()
    async with serving(server.app) as url:
        yield server, url


def registration_hooks(*hooks: dict[str, Any]) -> dict[str, Any]:
    return {"selfservice": {"flows": {"registration": {"after": {"password": {"hooks": [*hooks,
                                                                                     {"hook": "session"}]}}}}}}


async def register(gk: Any, email: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gk.public) as client:
        flow = (await client.get("/self-service/registration/api")).json()
        return await client.post(f"/self-service/registration?flow={flow['id']}",
                                 json={"method": "password", "password": PASSWORD, "traits": {"email": email}})


async def test_web_hook_sends_the_jsonnet_body_with_auth(hook_server: tuple[HookServer, str], sink: SmtpSink,
                                                         sqlite_dsn: str, tmp_path: Path) -> None:
    server, url = hook_server
    (tmp_path / "body.jsonnet").write_text(BODY)
    hook = {"hook": "web_hook", "config": {
        "url": f"{url}/ok", "method": "POST", "body": f"file://{tmp_path / 'body.jsonnet'}",
        "auth": {"type": "api_key", "config": {"name": "X-Hook-Key", "value": "hook-secret", "in": "header"}}}}
    login_hook = {"hook": "web_hook", "config": {
        "url": f"{url}/ok", "method": "PUT", "body": "base64://" + base64.b64encode(BODY.encode()).decode(),
        "auth": {"type": "basic_auth", "config": {"user": "gk", "password": "pw"}}}}
    extra = {**registration_hooks(hook)}
    extra["selfservice"]["flows"]["login"] = {"after": {"hooks": [login_hook]}}
    async with mailing(sqlite_dsn, sink, extra) as gk:
        done = await register(gk, "ada@example.com")
        assert done.status_code == 200 and done.json()["session_token"]
        call = server.calls[0]
        assert call["headers"]["x-hook-key"] == "hook-secret"
        sent = json.loads(call["body"])
        assert sent["email"] == "ada@example.com" and sent["method"] == "password"
        async with httpx.AsyncClient(base_url=gk.public) as client:
            flow = (await client.get("/self-service/login/api")).json()
            ok = await client.post(f"/self-service/login?flow={flow['id']}", json={
                "method": "password", "identifier": "ada@example.com", "password": PASSWORD})
            assert ok.status_code == 200
        assert server.calls[1]["headers"]["authorization"] == "Basic " + base64.b64encode(b"gk:pw").decode()


async def test_web_hook_messages_stop_the_flow(hook_server: tuple[HookServer, str], sink: SmtpSink,
                                               sqlite_dsn: str) -> None:
    server, url = hook_server
    hook = {"hook": "web_hook", "config": {"url": f"{url}/refuse", "body": "base64://" +
                                           base64.b64encode(BODY.encode()).decode(), "can_interrupt": True}}
    async with mailing(sqlite_dsn, sink, registration_hooks(hook)) as gk:
        refused = await register(gk, "spam@example.com")
        assert refused.status_code == 400
        node = next(n for n in refused.json()["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
        assert node["messages"] == [{"id": 4000099, "text": "This domain may not sign up.", "type": "error",
                                     "context": {"x": 1}}]
        assert "session_token" not in refused.json()
        again = await register(gk, "spam@example.com")  # no account was kept: the hook answers again
        node = next(n for n in again.json()["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
        assert [m["id"] for m in node["messages"]] == [4000099]
        # a message id that is no usable number (a superscript two, which str.isdigit() accepts, or more digits
        # than int() converts) is shown with the generic id, never a 500
        for odd_id in ("²", "9" * 5000):
            server.refusal_id = odd_id
            odd = await register(gk, "spam@example.com")
            assert odd.status_code == 400, odd.text
            node = next(n for n in odd.json()["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
            assert [(m["id"], m["text"]) for m in node["messages"]] == [(4000001, "This domain may not sign up.")]


async def test_web_hook_timeout_fails_closed_unless_ignored(hook_server: tuple[HookServer, str], sink: SmtpSink,
                                                            sqlite_dsn: str) -> None:
    server, url = hook_server
    slow = {"hook": "web_hook", "config": {"url": f"{url}/slow", "timeout": "300ms"}}
    async with mailing(sqlite_dsn, sink, registration_hooks(slow)) as gk:
        failed = await register(gk, "slow@example.com")
        assert failed.status_code == 502
        assert failed.json()["error"]["reason"] == "The web hook did not answer in time."
    ignored = {"hook": "web_hook", "config": {"url": f"{url}/slow", "response": {"ignore": True}}}
    broken = {"hook": "web_hook", "config": {"url": f"{url}/broken", "response": {"ignore": True}}}
    async with mailing(sqlite_dsn, sink, registration_hooks(ignored, broken)) as gk:
        done = await register(gk, "patient@example.com")
        assert done.status_code == 200 and done.json()["session_token"]
        for _ in range(100):
            if any(c["mode"] == "broken" for c in server.calls):
                break
            await asyncio.sleep(0.05)
        assert any(c["mode"] == "broken" for c in server.calls)  # fired, and its failure changed nothing


async def test_require_verified_address(sink: SmtpSink, dsn: str) -> None:
    extra = {"selfservice": {"flows": {"login": {"after": {"password": {"hooks": [
        {"hook": "require_verified_address"}]}}}}}}
    async with mailing(dsn, sink, extra) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        await register_api(gk, "ada@example.com")
        await mail_to(sink, "ada@example.com")
        flow = (await client.get("/self-service/login/api")).json()
        refused = await client.post(f"/self-service/login?flow={flow['id']}", json={
            "method": "password", "identifier": "ada@example.com", "password": PASSWORD})
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert error["id"] == "session_verified_address_required"
        item = error["details"]["continue_with"][0]
        assert item["action"] == "show_verification_ui" and item["flow"]["verifiable_address"] == "ada@example.com"
        code = code_in((await mail_to(sink, "ada@example.com", 2))[1])
        verified = await client.post(f"/self-service/verification?flow={item['flow']['id']}",
                                     json={"method": "code", "code": code})
        assert verified.json()["state"] == "passed_challenge"
        flow = (await client.get("/self-service/login/api")).json()
        ok = await client.post(f"/self-service/login?flow={flow['id']}", json={
            "method": "password", "identifier": "ada@example.com", "password": PASSWORD})
        assert ok.status_code == 200 and ok.json()["session_token"]


async def test_recovery_revokes_active_sessions(sink: SmtpSink, sqlite_dsn: str) -> None:
    extra = {"selfservice": {"flows": {"recovery": {"after": {"hooks": [{"hook": "revoke_active_sessions"}]}}}}}
    async with mailing(sqlite_dsn, sink, extra) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        old = (await register_api(gk, "lost@example.com"))["session_token"]
        await mail_to(sink, "lost@example.com")
        flow = (await client.get("/self-service/recovery/api")).json()
        await client.post(f"/self-service/recovery?flow={flow['id']}", json={"method": "code",
                                                                             "email": "lost@example.com"})
        code = code_in((await mail_to(sink, "lost@example.com", 2))[1])
        done = await client.post(f"/self-service/recovery?flow={flow['id']}", json={"method": "code", "code": code})
        new = done.json()["continue_with"][0]["ory_session_token"]
        assert (await client.get("/sessions/whoami", headers={"X-Session-Token": new})).status_code == 200
        assert (await client.get("/sessions/whoami", headers={"X-Session-Token": old})).status_code == 401


async def test_parsed_answer_changes_the_identity(hook_server: tuple[HookServer, str], sink: SmtpSink,
                                                  sqlite_dsn: str) -> None:
    _, url = hook_server
    body = "base64://" + base64.b64encode(BODY.encode()).decode()
    enrich = {"hook": "web_hook", "config": {"url": f"{url}/enrich", "body": body, "response": {"parse": True}}}
    async with mailing(sqlite_dsn, sink, registration_hooks(enrich)) as gk:
        done = await register(gk, "meta@example.com")
        assert done.status_code == 200, done.text
        async with httpx.AsyncClient(base_url=gk.public) as client:
            me = (await client.get("/sessions/whoami",
                                   headers={"X-Session-Token": done.json()["session_token"]})).json()
        assert me["identity"]["traits"]["name"]["first"] == "Hooked"
        assert me["identity"]["metadata_public"] == {"plan": "free"}
    mangle = {"hook": "web_hook", "config": {"url": f"{url}/mangle", "response": {"parse": True}}}
    async with mailing(sqlite_dsn, sink, registration_hooks(mangle)) as gk:
        refused = await register(gk, "mangled@example.com")
        assert refused.status_code == 400
        node = next(n for n in refused.json()["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
        assert node["messages"][0]["type"] == "error"


async def test_before_hooks_run_when_a_flow_starts(hook_server: tuple[HookServer, str], sink: SmtpSink,
                                                   sqlite_dsn: str) -> None:
    server, url = hook_server
    body = "base64://" + base64.b64encode(b"function(ctx) { flow_id: ctx.flow.id, type: ctx.flow.type }").decode()
    extra = {"selfservice": {"flows": {
        "recovery": {"before": {"hooks": [{"hook": "web_hook", "config": {"url": f"{url}/ok", "body": body}}]}},
        "verification": {"before": {"hooks": [{"hook": "web_hook", "config": {
            "url": f"{url}/refuse", "can_interrupt": True}}]}}}}}
    async with mailing(sqlite_dsn, sink, extra) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        flow = await client.get("/self-service/recovery/api")
        assert flow.status_code == 200
        assert json.loads(server.calls[-1]["body"]) == {"flow_id": flow.json()["id"], "type": "api"}
        refused = await client.get("/self-service/verification/api")
        assert refused.status_code == 400
        assert refused.json()["error"]["reason"] == "This domain may not sign up."
