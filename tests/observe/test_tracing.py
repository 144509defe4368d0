"""OpenTelemetry tracing end to end: a real gatekeeper exporting over OTLP/HTTP to a receiver on 127.0.0.1 (the
protobuf decoded with `opentelemetry.proto`), a real upstream, real logins on SQLite."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gatekeeper.access.pipeline import Pipeline
from gatekeeper.config import ConfigError, parse_config
from gatekeeper.proxy.forward import Forwarder
from tests.access.support import ENABLED_EVERYTHING, echo_app, received_headers, rule
from tests.conftest import _merge
from tests.identity.conftest import PASSWORD, register_api, started
from tests.support.otlp import CLIENT, ERROR, SERVER, Receiver, descends, only, otel, traceparent
from tests.support.otlp import receiver as receiver  # noqa: F401  (fixture)
from tests.support.servers import Instance, serving

IDENTITY = ("header", {"headers": {"X-User-Id": "{{ print .Subject }}"}})


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    async with serving(echo_app) as url:
        yield url


@contextlib.asynccontextmanager
async def gatekeeper(tmp_path: Path, upstream: str, tracing: dict[str, Any]) -> AsyncIterator[Instance]:
    """gatekeeper on SQLite with real identities, one cookie_session rule to `upstream` and `tracing`."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump([rule("app", "http://<[^/]+>/app/<.*>", upstream=upstream,
                                          authenticators=("cookie_session",), mutators=(IDENTITY,))]))
    overrides = _merge(ENABLED_EVERYTHING, {"access_rules": {"repositories": [f"file://{rules}"]}, "tracing": tracing})
    async with started(f"sqlite://{tmp_path}/gk.db?_fk=true", overrides) as gk:
        yield gk


async def login(gk: Instance, email: str) -> str:
    """A native password login: the session token."""
    async with httpx.AsyncClient(base_url=gk.public) as client:
        flow = (await client.get("/self-service/login/api")).json()
        done = await client.post(f"/self-service/login?flow={flow['id']}",
                                 json={"method": "password", "identifier": email, "password": PASSWORD})
        assert done.status_code == 200, done.text
        return str(done.json()["session_token"])


async def test_a_proxied_request_continues_the_clients_trace_down_to_the_upstream(
        tmp_path: Path, upstream: str, receiver: tuple[Receiver, str]) -> None:
    spans, server_url = receiver
    header, trace_id, client_span = traceparent()
    async with gatekeeper(tmp_path, upstream, otel(server_url)) as gk, httpx.AsyncClient() as c:
        await register_api(gk, "alice@example.com")
        token = await login(gk, "alice@example.com")
        gk.container.identity.ctx.sessions.forget_all()  # a cold replica: the session check reads the store
        r = await c.get(f"{gk.proxy}/app/items?q=1", headers={"Cookie": f"ory_kratos_session={token}",
                                                               "traceparent": header, "tracestate": "vendor=1"})
        assert r.status_code == 200
        sent = dict(received_headers(r.json()))
        admin = await c.get(f"{gk.admin}/admin/identities", headers={"traceparent": traceparent()[0]})
        assert admin.status_code == 200
        asked, asked_trace, _ = traceparent()
        decided = await c.get(f"{gk.api}/decisions/app/x", headers={"Cookie": f"ory_kratos_session={token}",
                                                                     "traceparent": asked})
        assert decided.status_code == 200

    trace = spans.trace(trace_id)
    server = only(trace, "GET app")
    assert (server.kind, server.parent_id, server.service) == (SERVER, client_span, "gk-under-test")
    assert server.attributes["http.request.method"] == "GET" and server.attributes["url.path"] == "/app/items"
    assert server.attributes["http.response.status_code"] == 200 and server.attributes["http.route"] == "app"
    assert server.attributes["gatekeeper.listener"] == "proxy"
    assert only(trace, "access.match").attributes["gatekeeper.access.rule"] == "app"
    authn = only(trace, "access.authenticate")
    assert authn.attributes["gatekeeper.access.handler"] == "cookie_session"
    assert only(trace, "access.authorize").attributes["gatekeeper.access.handler"] == "allow"
    assert only(trace, "access.mutate").attributes["gatekeeper.access.handler"] == "header"
    for name in ("access.match", "access.authenticate", "access.authorize", "access.mutate", "upstream"):
        assert only(trace, name).parent_id == server.span_id
    queries = [s for s in trace if s.attributes.get("db.system") == "sqlite"]
    assert queries and all(descends(q, authn, trace) and q.kind == CLIENT for q in queries)
    assert any(q.attributes["db.operation.name"] == "SELECT" for q in queries)

    call = only(trace, "upstream")
    assert call.kind == CLIENT and call.attributes["http.response.status_code"] == 200
    assert call.attributes["server.address"] == "127.0.0.1" and call.attributes["url.path"] == "/app/items"
    # the upstream continues the trace under gatekeeper's client span; the client's vendor state travels along
    assert sent["traceparent"] == [f"00-{trace_id}-{call.span_id}-01"] and sent["tracestate"] == ["vendor=1"]

    hashing = [s for s in spans.spans if s.name == "password.verify"]
    assert len(hashing) == 1 and hashing[0].attributes["gatekeeper.hasher.algorithm"] == "bcrypt"
    logins = [s for s in spans.spans if s.span_id == hashing[0].parent_id]
    assert [(s.kind, s.attributes["gatekeeper.listener"]) for s in logins] == [(SERVER, "public")]
    assert any(s.name == "password.hash" for s in spans.spans)  # the registration
    assert any(s.attributes.get("gatekeeper.listener") == "admin" and s.name == "GET /admin/identities"
               for s in spans.spans)
    decisions = spans.trace(asked_trace)
    assert only(decisions, "GET app").attributes["gatekeeper.listener"] == "api"
    assert only(decisions, "access.match").attributes["gatekeeper.access.mode"] == "decisions"
    assert only(decisions, "access.mutate").attributes["gatekeeper.access.handler"] == "header"


async def test_a_denied_request_ends_at_the_failing_handler_and_a_request_without_traceparent_starts_a_trace(
        tmp_path: Path, upstream: str, receiver: tuple[Receiver, str]) -> None:
    spans, server_url = receiver
    async with gatekeeper(tmp_path, upstream, otel(server_url)) as gk, httpx.AsyncClient() as c:
        r = await c.get(f"{gk.proxy}/app/x", headers={"Cookie": "ory_kratos_session=not-a-session"})
        assert r.status_code == 401
    server = only(spans.spans, "GET app")
    assert server.parent_id == "" and server.attributes["http.response.status_code"] == 401
    trace = spans.trace(server.trace_id)
    authn = only(trace, "access.authenticate")
    assert authn.status == ERROR
    assert not [s for s in trace if s.name in ("access.authorize", "upstream")]


@pytest.mark.parametrize("tracing", [
    pytest.param({}, id="no tracing section -> off"),
    pytest.param({"providers": {"otlp": {"insecure": True}}}, id="otlp settings but no provider -> off"),
    pytest.param({"provider": "zipkin", "providers": {"zipkin": {"server_url": "http://zipkin:9411/api/v2/spans"}}},
                 id="zipkin -> accepted, warned about once, nothing sent"),
])
async def test_without_the_otel_provider_nothing_is_exported_and_the_clients_traceparent_passes_unchanged(
        tmp_path: Path, upstream: str, receiver: tuple[Receiver, str], tracing: dict[str, Any],
        caplog: pytest.LogCaptureFixture) -> None:
    spans, server_url = receiver
    if "providers" in tracing and "otlp" in tracing["providers"]:
        tracing = _merge(tracing, {"providers": {"otlp": {"server_url": server_url}}})
    header, _, _ = traceparent()
    with caplog.at_level(logging.WARNING, logger="gatekeeper"):
        async with gatekeeper(tmp_path, upstream, tracing) as gk, httpx.AsyncClient() as c:
            await register_api(gk, "bob@example.com")
            token = await login(gk, "bob@example.com")
            r = await c.get(f"{gk.proxy}/app/x", headers={"Cookie": f"ory_kratos_session={token}",
                                                           "traceparent": header})
            assert r.status_code == 200
            assert dict(received_headers(r.json()))["traceparent"] == [header]
            # the data plane is wired without any tracing code in it
            assert type(gk.container.access.proxy_pipeline) is Pipeline
            assert type(gk.container.access.forwarder) is Forwarder
    assert spans.spans == []
    warnings = [r.getMessage() for r in caplog.records if "tracing.provider" in r.getMessage()]
    assert len(warnings) == (1 if tracing.get("provider") == "zipkin" else 0)
    assert all("'zipkin'" in w and "no spans are sent" in w for w in warnings)


async def test_sampling_follows_the_caller_and_the_ratio_and_the_authorization_header_is_sent(
        tmp_path: Path, upstream: str, receiver: tuple[Receiver, str]) -> None:
    spans, server_url = receiver
    tracing = otel(server_url, providers={"otlp": {"sampling": {"sampling_ratio": 0},
                                                   "authorization_header": "Bearer collector-token"}})
    sampled, sampled_trace, _ = traceparent()
    unsampled, unsampled_trace, _ = traceparent()
    async with gatekeeper(tmp_path, upstream, tracing) as gk, httpx.AsyncClient() as c:
        await register_api(gk, "carol@example.com")
        cookie = {"Cookie": f"ory_kratos_session={await login(gk, 'carol@example.com')}"}
        for headers in ({}, {"traceparent": sampled}):
            assert (await c.get(f"{gk.proxy}/app/x", headers={**cookie, **headers})).status_code == 200
        r = await c.get(f"{gk.proxy}/app/x", headers={**cookie, "traceparent": unsampled[:-2] + "00"})
        # the caller's decision travels on: the upstream is told the trace is not sampled
        (sent,) = received_headers(r.json())["traceparent"]
        assert sent.startswith(f"00-{unsampled_trace}-") and sent.endswith("-00")
    # ratio 0 starts no trace of its own, but a sampled caller's trace is continued (parent-based)
    assert {s.trace_id for s in spans.spans} == {sampled_trace}
    assert unsampled_trace not in {s.trace_id for s in spans.spans}
    assert spans.authorization == {"Bearer collector-token"}


def test_ory_tracing_sections_load_and_mistakes_are_reported_with_file_line_and_key() -> None:
    ory = """
tracing:
  provider: otel
  service_name: Ory Kratos
  deployment_environment: production
  providers:
    otlp:
      server_url: collector.observability:4318
      insecure: false
      sampling:
        sampling_ratio: 0.25
      authorization_header: Bearer abc
    jaeger:
      local_agent_address: 127.0.0.1:6831
      sampling:
        server_url: http://localhost:5778/sampling
        trace_id_ratio: 0.5
    zipkin:
      server_url: http://localhost:9411/api/v2/spans
      sampling:
        sampling_ratio: 0.4
"""
    tracing = parse_config(ory, name="kratos.yaml", env={}, dev=True).tracing
    assert tracing.exported and tracing.providers.otlp.sampling.sampling_ratio == 0.25
    assert "abc" not in repr(tracing)  # the collector's credential is a secret
    assert not parse_config("", name="empty.yaml", env={}, dev=True).tracing.exported  # off by default
    assert parse_config("", name="empty.yaml", env={"TRACING_PROVIDER": "otel"}, dev=True).tracing.exported

    bad = """tracing:
  provider: datadog
  providers:
    otlp:
      server_url: http://collector:4318
      sampling:
        sampling_ratio: 1.5
      compression: gzip
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(bad, name="gk.yaml", env={}, dev=True)
    assert [str(p) for p in caught.value.problems] == [
        "gk.yaml:2: tracing.provider: expected one of jaeger, otel, zipkin (or no provider: tracing off), "
        "got 'datadog'",
        "gk.yaml:5: tracing.providers.otlp.server_url: expected host:port such as localhost:4318 (no scheme: "
        "insecure: true sends plain HTTP), got 'http://collector:4318'",
        "gk.yaml:7: tracing.providers.otlp.sampling.sampling_ratio: expected a ratio between 0 and 1, got 1.5",
        "gk.yaml:8: tracing.providers.otlp.compression: unknown key",
    ]
