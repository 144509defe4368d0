"""A real OTLP/HTTP trace receiver on 127.0.0.1 for tests: `POST /v1/traces`, the protobuf decoded with
`opentelemetry.proto`, spans kept in arrival order."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import _merge
from tests.support.servers import serving

SERVER, CLIENT = 2, 3  # the protobuf's SpanKind values
ERROR = 2  # Status.STATUS_CODE_ERROR


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    status: int
    attributes: dict[str, Any]
    service: str


def _value(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value") or "string_value")


class Receiver:
    """An OTLP/HTTP trace receiver: `POST /v1/traces`, protobuf in, spans kept in arrival order."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.authorization: set[str] = set()
        self.app = Starlette(routes=[Route("/v1/traces", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        self.authorization.add(request.headers.get("authorization", ""))
        export = ExportTraceServiceRequest.FromString(await request.body())
        for resource_spans in export.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(ReceivedSpan(
                    s.name, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex(), s.kind, s.status.code,
                    {a.key: _value(a.value) for a in s.attributes}, resource["service.name"])
                    for s in scope_spans.spans)
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.trace_id == trace_id]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """The receiver and its `host:port` (what `tracing.providers.otlp.server_url` takes)."""
    receiver = Receiver()
    async with serving(receiver.app) as url:
        yield receiver, url.split("://", 1)[1]




def traceparent() -> tuple[str, str, str]:
    """A sampled W3C traceparent as a client would send it: (header, trace id, parent span id)."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def otel(server_url: str, **extra: Any) -> dict[str, Any]:
    return _merge({"provider": "otel", "service_name": "gk-under-test",
                   "providers": {"otlp": {"server_url": server_url, "insecure": True}}}, extra)


def only(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"expected one {name!r} span, got {[s.name for s in spans]}"
    return found[0]


def descends(span: ReceivedSpan, ancestor: ReceivedSpan, spans: list[ReceivedSpan]) -> bool:
    by_id = {s.span_id: s for s in spans}
    current: ReceivedSpan | None = span
    while current is not None:
        if current.parent_id == ancestor.span_id:
            return True
        current = by_id.get(current.parent_id)
    return False
