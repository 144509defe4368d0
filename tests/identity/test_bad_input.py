"""Bad input gets Kratos' error shape and a clear 4xx, never a 500: malformed bodies, unknown or expired
flows, forbidden return_to, API flows called like a browser, throttling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gatekeeper.identity.text import Msg
from tests.identity.conftest import PASSWORD
from tests.support.servers import Instance

JSON = {"Accept": "application/json"}


def is_error(resp: httpx.Response, status: int, error_id: str | None = None) -> bool:
    body = resp.json()
    err = body["error"]
    assert resp.status_code == status, body
    assert err["code"] == status and err["message"] and "Traceback" not in resp.text
    assert err.get("id") == error_id, err
    return True


async def api_flow(c: httpx.AsyncClient, kind: str = "login") -> dict[str, Any]:
    return (await c.get(f"/self-service/{kind}/api")).json()


@pytest.mark.parametrize(("content", "headers", "status"), [
    pytest.param(b"{not json", {"Content-Type": "application/json"}, 400, id="malformed JSON"),
    pytest.param(b"[1, 2]", {"Content-Type": "application/json"}, 400, id="JSON that is not an object"),
    pytest.param(b'{"method": NaN}', {"Content-Type": "application/json"}, 400, id="NaN is not JSON"),
    pytest.param(b'{"identifier": 1e999}', {"Content-Type": "application/json"}, 400, id="number out of range"),
    pytest.param(b"method=password", {"Content-Type": "text/plain"}, 415, id="wrong content type"),
    pytest.param(b"x" * 300_000, {"Content-Type": "application/json"}, 413, id="huge body"),
    pytest.param(b"[" * 200_000, {"Content-Type": "application/json"}, 400, id="deeply nested JSON"),
    pytest.param(b'{"traits": ' * 20_000 + b"1" + b"}" * 20_000, {"Content-Type": "application/json"}, 400,
                 id="deeply nested object"),
])
async def test_malformed_bodies(gk: Instance, content: bytes, headers: dict[str, str], status: int) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = await api_flow(c)
        resp = await c.post(f"/self-service/login?flow={flow['id']}", content=content, headers={**headers, **JSON})
        assert is_error(resp, status)


async def test_broken_multipart_is_a_client_error(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = await api_flow(c)
        resp = await c.post(f"/self-service/login?flow={flow['id']}", content=b"--b\r\nbroken",
                            headers={"Content-Type": "multipart/form-data; boundary=b", **JSON})
        assert resp.status_code == 400 and "Traceback" not in resp.text


async def test_huge_fields_are_refused_as_invalid_credentials_not_crashes(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = await api_flow(c)
        resp = await c.post(f"/self-service/login?flow={flow['id']}",
                            json={"method": "password", "identifier": "a" * 100_000, "password": "p" * 100_000})
        assert resp.status_code == 400 and resp.json()["ui"]["messages"][0]["id"] == Msg.ERR_INVALID_CREDENTIALS
        flow = await api_flow(c, "registration")
        traits = {"email": "a" * 5000 + "@x.io"}
        resp = await c.post(f"/self-service/registration?flow={flow['id']}",
                            json={"method": "password", "password": PASSWORD, "traits": traits})
        assert resp.status_code == 400
        email = next(n for n in resp.json()["ui"]["nodes"] if n["attributes"]["name"] == "traits.email")
        assert Msg.ERR_VALIDATION_MAX_LENGTH in [m["id"] for m in email["messages"]]


@pytest.mark.parametrize("body", [
    pytest.param({"method": "magic"}, id="unknown method"),
    pytest.param({}, id="no method"),
    pytest.param({"method": "password", "identifier": ["a"], "password": {"x": 1}}, id="wrong types"),
])
async def test_no_strategy_or_wrong_types_give_a_flow_with_messages(gk: Instance, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = await api_flow(c)
        resp = await c.post(f"/self-service/login?flow={flow['id']}", json=body)
        assert resp.status_code == 400
        ids = [m["id"] for m in resp.json()["ui"].get("messages", [])] + [
            m["id"] for n in resp.json()["ui"]["nodes"] for m in n["messages"]]
        assert ids and set(ids) <= {Msg.ERR_LOGIN_NO_STRATEGY, Msg.ERR_VALIDATION_REQUIRED}


@pytest.mark.parametrize("flow", ["", "not-a-uuid", "00000000-0000-4000-8000-000000000000", "x" * 500])
async def test_unknown_flow_ids(gk: Instance, flow: str) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        assert is_error(await c.get("/self-service/login/flows", params={"id": flow}), 404)
        assert is_error(await c.post("/self-service/login", params={"flow": flow}, json={"method": "password"}), 404)
        html = await c.post("/self-service/login", params={"flow": flow}, data={"method": "password"})
        assert html.status_code == 303 and "/ui/error?id=" in html.headers["location"]
        page = await c.get(html.headers["location"])
        assert page.status_code == 200 and "Start again" in page.text


@pytest.mark.parametrize("return_to", [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "http://user@app.example.test/",
    "javascript:alert(1)", "http://app.example.test.evil.example/", "https://app.example.test/",
    "http://app.example.test:8080/", "http://app.example.test/\r\nSet-Cookie: x=y", "data:text/html,hi",
])
async def test_return_to_outside_the_allow_list_is_forbidden(gk: Instance, return_to: str) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        resp = await c.get("/self-service/login/browser", params={"return_to": return_to}, headers=JSON)
        assert is_error(resp, 400, "self_service_flow_return_to_forbidden")
        html = await c.get("/self-service/registration/browser", params={"return_to": return_to})
        assert html.status_code == 303 and "/ui/error?id=" in html.headers["location"]


@pytest.mark.parametrize("return_to", ["http://app.example.test/deep/page?x=1", "/relative/path"])
async def test_allowed_return_to_is_kept_on_the_flow(gk: Instance, return_to: str) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        resp = await c.get("/self-service/login/browser", params={"return_to": return_to}, headers=JSON)
        assert resp.status_code == 200 and resp.json()["return_to"].startswith("http://app.example.test/")


@pytest.mark.parametrize(("allowed", "refused", "kept"), [
    pytest.param("https://*.example.com/",
                 ["https://evilexample.com/", "https://example.com.evil.net/", "https://app.example.com.evil.net/",
                  "https://example.com/", "http://app.example.com/x"],
                 ["https://app.example.com/x", "https://a.b.example.com/"], id="wildcard host"),
    pytest.param("https://app.example.com/allowed/",
                 ["https://app.example.com/allowedx", "https://app.example.com/", "https://app.example.com/other",
                  # a browser resolves dot segments (also percent-encoded) before it asks for the page
                  "https://app.example.com/allowed/../admin", "https://app.example.com/allowed/%2E%2e/admin",
                  "https://app.example.com/allowed/sub/../../admin", "https://app.example.com/allowed/.."],
                 ["https://app.example.com/allowed/sub", "https://app.example.com/allowed/",
                  "https://app.example.com/allowed", "https://app.example.com/allowed/a/../b"], id="path prefix"),
])
async def test_return_to_allow_list_entries_match_whole_labels_and_path_segments(
        start: Callable[..., Any], allowed: str, refused: list[str], kept: list[str]) -> None:
    async with start({"selfservice": {"allowed_return_urls": [allowed]}}) as gk, \
            httpx.AsyncClient(base_url=gk.public) as c:
        for return_to in refused:
            resp = await c.get("/self-service/login/browser", params={"return_to": return_to}, headers=JSON)
            assert resp.status_code == 400, (return_to, resp.text)
            assert is_error(resp, 400, "self_service_flow_return_to_forbidden")
        for return_to in kept:
            resp = await c.get("/self-service/login/browser", params={"return_to": return_to}, headers=JSON)
            assert resp.status_code == 200, (return_to, resp.text)
            assert resp.json()["return_to"] == return_to


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Cookie": "tracking=1"}])
async def test_api_flows_refuse_browser_requests(gk: Instance, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = await api_flow(c)
        resp = await c.post(f"/self-service/login?flow={flow['id']}", headers=headers,
                            json={"method": "password", "identifier": "a@b.co", "password": PASSWORD})
        assert is_error(resp, 400)


async def test_expired_flows_answer_410_with_a_fresh_flow_or_restart_the_browser(start: Callable[..., Any]) -> None:
    async with start({"selfservice": {"flows": {"login": {"lifespan": "1s"}}}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c, httpx.AsyncClient(base_url=gk.public) as native:
            api = await api_flow(native)
            init = await c.get("/self-service/login/browser")
            browser_id = init.headers["location"].rsplit("=", 1)[1]
            flow = (await c.get("/self-service/login/flows", params={"id": browser_id})).json()
            await asyncio.sleep(1.1)
            resp = await native.post(f"/self-service/login?flow={api['id']}", json={"method": "password"})
            assert is_error(resp, 410, "self_service_flow_expired")
            assert resp.json()["use_flow_id"] != api["id"] and resp.json()["expired_at"]
            fresh = await native.get("/self-service/login/flows", params={"id": resp.json()["use_flow_id"]})
            assert fresh.status_code == 200 and fresh.json()["type"] == "api"
            assert is_error(await c.get("/self-service/login/flows", params={"id": browser_id}), 410,
                            "self_service_flow_expired")
            csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"]
                        if n["attributes"]["name"] == "csrf_token")
            html = await c.post(flow["ui"]["action"], data={"method": "password", "csrf_token": csrf})
            assert html.status_code == 303 and browser_id not in html.headers["location"]
            new = (await c.get("/self-service/login/flows", params={"id": html.headers["location"].rsplit("=", 1)[1]}))
            assert new.json()["ui"]["messages"][0]["id"] == Msg.ERR_LOGIN_FLOW_EXPIRED


async def test_login_throttling_per_identifier_answers_429_with_retry_after(start: Callable[..., Any]) -> None:
    throttle = {"per_identifier": 2, "per_ip": 100, "window": "10m"}
    async with start({"selfservice": {"flows": {"login": {"throttling": throttle}}}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = await api_flow(c)
            body = {"method": "password", "identifier": "Victim@Example.com", "password": "guess-guess-1"}
            for _ in range(2):
                assert (await c.post(f"/self-service/login?flow={flow['id']}", json=body)).status_code == 400
            body["identifier"] = " victim@example.com"  # the same canonical identifier
            resp = await c.post(f"/self-service/login?flow={flow['id']}", json=body)
            assert is_error(resp, 429)
            assert 0 < int(resp.headers["retry-after"]) <= 600
            other = await c.post(f"/self-service/login?flow={flow['id']}",
                                 json={**body, "identifier": "someone@example.com"})
            assert other.status_code == 400  # another account is not locked out


async def test_login_throttling_per_ip(start: Callable[..., Any]) -> None:
    throttle = {"per_identifier": 100, "per_ip": 3, "window": "10m"}
    async with start({"selfservice": {"flows": {"login": {"throttling": throttle}}}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = await api_flow(c)
            statuses = []
            for i in range(4):
                resp = await c.post(f"/self-service/login?flow={flow['id']}",
                                    json={"method": "password", "identifier": f"u{i}@example.com", "password": "x" * 9})
                statuses.append(resp.status_code)
            assert statuses == [400, 400, 400, 429]


async def test_schema_not_found_and_error_ids(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        assert is_error(await c.get("/schemas/%00%01"), 404)
        assert is_error(await c.get("/self-service/errors", params={"id": "nope"}), 404)
        stub = await c.get("/self-service/errors", params={"id": "stub:500"})
        assert stub.status_code == 200 and stub.json()["error"]["code"] == 500
        assert is_error(await c.delete("/sessions"), 401)
        assert is_error(await c.request("DELETE", "/self-service/logout/api", json={"session_token": "nope"}), 403)
        assert is_error(await c.request("DELETE", "/self-service/logout/api", json={}), 400)
        assert is_error(await c.get("/self-service/login/api", params={"aal": "aal9"}), 400)
        assert is_error(await c.get("/self-service/login/api", params={"aal": "aal2"}), 401, "session_aal1_required")


async def test_throttled_browser_logins_get_a_message_on_the_form(start: Callable[..., Any]) -> None:
    throttle = {"per_identifier": 1, "per_ip": 100, "window": "10m"}
    async with start({"selfservice": {"flows": {"login": {"throttling": throttle}}}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            init = await c.get("/self-service/login/browser")
            flow_id = init.headers["location"].rsplit("=", 1)[1]
            flow = (await c.get("/self-service/login/flows", params={"id": flow_id})).json()
            csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"]
                        if n["attributes"]["name"] == "csrf_token")
            form = {"method": "password", "identifier": "ada@example.com", "password": "x" * 9, "csrf_token": csrf}
            for expected in (Msg.ERR_INVALID_CREDENTIALS, Msg.ERR_VALIDATION_GENERIC):
                resp = await c.post(flow["ui"]["action"], data=form)
                assert resp.status_code == 303 and flow_id in resp.headers["location"]
                shown = (await c.get("/self-service/login/flows", params={"id": flow_id})).json()
                assert [m["id"] for m in shown["ui"]["messages"]] == [expected]
            assert "Too many sign-in attempts" in shown["ui"]["messages"][0]["text"]


async def test_unknown_identifiers_cost_a_hash_verification_like_wrong_passwords(gk: Instance) -> None:
    ctx = gk.container.identity.ctx
    calls: list[str] = []
    original = ctx.hasher._verify

    def spy(stored: str, password: str) -> bool:
        calls.append(stored[:4])
        return original(stored, password)

    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = (await c.get("/self-service/registration/api")).json()
        await c.post(f"/self-service/registration?flow={flow['id']}", json={
            "method": "password", "password": PASSWORD, "traits": {"email": "ada@example.com"}})
        ctx.hasher._verify = spy
        for identifier in ("ada@example.com", "nobody@example.com"):
            login = (await c.get("/self-service/login/api")).json()
            resp = await c.post(f"/self-service/login?flow={login['id']}", json={
                "method": "password", "identifier": identifier, "password": "wrong-password-1"})
            assert resp.json()["ui"]["messages"][0]["id"] == Msg.ERR_INVALID_CREDENTIALS
    assert calls == ["$2b$", "$2b$"]  # one bcrypt verification each: a real hash, then the dummy


async def test_api_flow_errors_stay_json_even_for_form_posts(start: Callable[..., Any]) -> None:
    throttle = {"per_identifier": 0, "per_ip": 1, "window": "10m"}
    async with start({"selfservice": {"flows": {"login": {"throttling": throttle}}}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = await api_flow(c)
            form = {"method": "password", "identifier": "a@b.co", "password": "x" * 9}
            assert (await c.post(f"/self-service/login?flow={flow['id']}", data=form)).status_code == 400
            resp = await c.post(f"/self-service/login?flow={flow['id']}", data=form)
            assert is_error(resp, 429)


async def test_flow_outcomes_and_hashing_time_are_exported_as_metrics(gk: Instance) -> None:
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = await api_flow(c)
        await c.post(f"/self-service/login?flow={flow['id']}", json={
            "method": "password", "identifier": "nobody@example.com", "password": "x" * 9})
        metrics = (await c.get(f"{gk.metrics}/metrics")).text
    assert 'gatekeeper_identity_flow_submissions_total{flow="login",result="refused"} 1.0' in metrics
    assert 'gatekeeper_identity_password_hash_seconds_count{operation="verify"} 1.0' in metrics
    assert "nobody@example.com" not in metrics
