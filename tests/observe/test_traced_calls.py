"""The calls gatekeeper makes itself (session checks, remote authorizers, the hydrator, web hooks) continue the
request's trace: a client span each, whose `traceparent` the called service receives; tracing off, they carry
none of their own. Real services on 127.0.0.1, the spans read back from a real OTLP/HTTP receiver."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gatekeeper.asgi import Receive, Scope, Send
from tests.access.support import access_config, access_instance, echo_app, rule
from tests.identity.conftest import PASSWORD, started
from tests.support.otlp import CLIENT, ERROR, SERVER, Receiver, descends, only, otel, traceparent
from tests.support.otlp import receiver as receiver  # noqa: F401  (fixture)
from tests.support.servers import Instance, serving


@dataclass
class Call:
    path: str
    headers: dict[str, list[str]]


class Remote:
    """A service gatekeeper calls: records each request; answers a session check, a remote_json check, the
    hydrator (its session echoed), a rules repository, and anything else (a web hook) with 204."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        self.calls.append(Call(scope["path"], headers))
        answer = {"/sessions/whoami": b'{"subject": "user-1"}', "/check": b'{"allowed": true}', "/hydrate": body,
                  "/rules": b"[]"}.get(scope["path"])
        await send({"type": "http.response.start", "status": 204 if answer is None else 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer or b""})

    def call(self, path: str) -> Call:
        (found,) = [c for c in self.calls if c.path == path]
        return found


@contextlib.asynccontextmanager
async def hops(tmp_path: Path, tracing: dict[str, Any]) -> AsyncIterator[tuple[Instance, Remote, str]]:
    """gatekeeper with a rule `hop` (cookie_session checked remotely, remote_json, hydrator, all asking `Remote`),
    a rule `down` (remote_json on a closed port), rules also read from `Remote`; and `Remote`'s URL."""
    remote = Remote()
    async with serving(remote) as url, serving(echo_app) as upstream:
        hop = rule("hop", "http://<[^/]+>/hop/<.*>", upstream=upstream, authenticators=(("cookie_session", {
            "check_session_url": f"{url}/sessions/whoami", "preserve_path": True, "preserve_query": False,
            "forward_http_headers": ["Traceparent"]}),),
            authorizer=("remote_json", {"remote": f"{url}/check", "payload": '{"subject": "{{ print .Subject }}"}'}),
            mutators=(("hydrator", {"api": {"url": f"{url}/hydrate"}}),))
        down = rule("down", "http://<[^/]+>/down", authenticators=("anonymous",),
                    authorizer=("remote_json", {"remote": "http://127.0.0.1:9/check", "payload": "{}"}))
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump([hop, down]))
        overrides = {"tracing": tracing, "authorizers": {"remote_json": {"enabled": True}},
                     "mutators": {"hydrator": {"enabled": True}}}
        config = access_config(tmp_path, None, overrides,
                               repositories=[f"file://{tmp_path / 'rules.yaml'}", f"{url}/rules"])
        async with access_instance(config) as gk:
            yield gk, remote, url


async def test_session_check_authorizer_and_hydrator_calls_are_client_spans_of_the_request(
        tmp_path: Path, receiver: tuple[Receiver, str]) -> None:
    spans, server_url = receiver
    header, trace_id, _ = traceparent()
    down_header, down_trace, _ = traceparent()
    async with hops(tmp_path, otel(server_url)) as (gk, remote, url), httpx.AsyncClient() as c:
        r = await c.get(f"{gk.proxy}/hop/items?token=secret-value", headers={
            "Cookie": "ory_kratos_session=tok", "traceparent": header, "tracestate": "vendor=1"})
        assert r.status_code == 200, r.text
        assert (await c.get(f"{gk.proxy}/down", headers={"traceparent": down_header})).status_code == 500

    trace = spans.trace(trace_id)
    server = only(trace, "GET hop")
    port = int(url.rsplit(":", 1)[1])
    for path, method, shown in (("/sessions/whoami", "GET", f"{url}/sessions/whoami?token=REDACTED"),
                                ("/check", "POST", f"{url}/check"),
                                ("/hydrate", "POST", f"{url}/hydrate?token=REDACTED")):
        sent = remote.call(path).headers
        # one traceparent: the client's copy the session check forwards is replaced by gatekeeper's span
        (context,) = sent["traceparent"]
        _, sent_trace, parent, flags = context.split("-")
        assert (sent_trace, flags) == (trace_id, "01") and sent["tracestate"] == ["vendor=1"]
        (span,) = [s for s in trace if s.span_id == parent]
        assert (span.name, span.kind, span.status) == (method, CLIENT, 0) and descends(span, server, trace)
        assert span.attributes == {"http.request.method": method, "server.address": "127.0.0.1", "server.port": port,
                                   "url.full": shown, "http.response.status_code": 200}
    assert "secret-value" not in json.dumps([s.attributes for s in spans.spans])
    # the rules read at start-up belong to no request: no span, no invented trace context
    assert "traceparent" not in remote.call("/rules").headers
    assert not [s for s in spans.spans if str(s.attributes.get("url.full", "")).endswith("/rules")]

    (failed,) = [s for s in spans.trace(down_trace) if s.kind == CLIENT]
    assert (failed.name, failed.status, failed.attributes["url.full"]) == ("POST", ERROR, "http://127.0.0.1:9/check")
    assert "http.response.status_code" not in failed.attributes


async def test_tracing_off_the_calls_carry_no_trace_context_of_their_own(tmp_path: Path) -> None:
    async with hops(tmp_path, {}) as (gk, remote, _), httpx.AsyncClient() as c:
        r = await c.get(f"{gk.proxy}/hop/items", headers={"Cookie": "ory_kratos_session=tok"})
        assert r.status_code == 200, r.text
    assert {c.path for c in remote.calls} >= {"/sessions/whoami", "/check", "/hydrate", "/rules"}
    assert not [c for c in remote.calls if "traceparent" in c.headers or "tracestate" in c.headers]


@pytest.mark.parametrize("sampled", [pytest.param(True, id="sampled caller"),
                                     pytest.param(False, id="unsampled caller -> told on, no span")])
async def test_a_web_hook_continues_the_flows_trace(tmp_path: Path, receiver: tuple[Receiver, str],
                                                    sampled: bool) -> None:
    spans, server_url = receiver
    header, trace_id, _ = traceparent()
    header = header if sampled else header[:-2] + "00"
    remote = Remote()
    async with serving(remote) as url:
        hooks = {"hooks": [{"hook": "web_hook", "config": {"url": f"{url}/hook"}},
                           {"hook": "session"}]}
        overrides = {"tracing": otel(server_url),
                     "selfservice": {"flows": {"registration": {"after": {"password": hooks}}}}}
        async with started(f"sqlite://{tmp_path}/gk.db?_fk=true", overrides) as gk, \
                httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/registration/api")).json()
            done = await c.post(f"/self-service/registration?flow={flow['id']}", headers={"traceparent": header},
                                json={"method": "password", "password": PASSWORD,
                                      "traits": {"email": "hooked@example.com"}})
            assert done.status_code == 200, done.text

    (context,) = remote.call("/hook").headers["traceparent"]
    _, sent_trace, parent, flags = context.split("-")
    assert sent_trace == trace_id
    trace = spans.trace(trace_id)
    if not sampled:
        assert (flags, trace) == ("00", [])
        return
    (server,) = [s for s in trace if s.kind == SERVER]
    hook = only(trace, "POST")
    assert (flags, hook.span_id, hook.kind) == ("01", parent, CLIENT) and descends(hook, server, trace)
    assert hook.attributes["url.full"] == f"{url}/hook" and hook.attributes["http.response.status_code"] == 204


async def test_a_call_through_the_environments_http_proxy_is_traced_too(
        tmp_path: Path, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch) -> None:
    spans, server_url = receiver
    header, trace_id, _ = traceparent()
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    proxy = Remote()
    async with serving(proxy) as url, serving(echo_app) as upstream:
        monkeypatch.setenv("HTTP_PROXY", url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # gatekeeper's listeners and the OTLP receiver: direct
        via = rule("via", "http://<[^/]+>/via", upstream=upstream, authenticators=("anonymous",),
                   authorizer=("remote_json", {"remote": "http://authz.test/check", "payload": "{}"}))
        overrides = {"tracing": otel(server_url), "authorizers": {"remote_json": {"enabled": True}}}
        async with access_instance(access_config(tmp_path, [via], overrides)) as gk, httpx.AsyncClient() as c:
            assert (await c.get(f"{gk.proxy}/via", headers={"traceparent": header})).status_code == 200
    (call,) = proxy.calls
    assert (call.path, call.headers["host"]) == ("/check", ["authz.test"])
    span = only(spans.trace(trace_id), "POST")
    assert call.headers["traceparent"] == [f"00-{trace_id}-{span.span_id}-01"]
    assert span.attributes["server.address"] == "authz.test" and span.attributes["server.port"] == 80
