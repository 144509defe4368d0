"""`tracing.provider: otel`: spans recorded with the OpenTelemetry SDK and sent to an OTLP/HTTP collector.

As Ory's otelx: a batch span processor, a parent-based ratio sampler (a sampled caller's trace is always
continued), W3C trace context in and out, `service.name` and `deployment.environment.name` on the resource. The
provider is this tracer's own, never the process-global one, so several containers in one process stay apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span, use_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gatekeeper import __version__
from gatekeeper.config.tracing import Tracing
from gatekeeper.observe.tracing import Attributes, Span

_CONTEXT_HEADERS = (b"traceparent", b"tracestate")


def otlp_exporter(cfg: Tracing) -> OTLPSpanExporter:
    """The exporter `tracing.providers.otlp` describes: `http(s)://<server_url>/v1/traces`."""
    otlp = cfg.providers.otlp
    scheme = "http" if otlp.insecure else "https"
    auth = otlp.authorization_header
    return OTLPSpanExporter(endpoint=f"{scheme}://{otlp.server_url}/v1/traces",
                            headers={"Authorization": auth.value} if auth is not None and auth.value else None)


class OtelTracer:
    """Records spans and exports them in batches (`exporter`: the OTLP one `cfg` describes, unless given)."""

    enabled = True

    def __init__(self, cfg: Tracing, exporter: SpanExporter | None = None) -> None:
        attributes: dict[str, str] = {"service.name": cfg.service_name, "service.version": __version__}
        if cfg.deployment_environment:
            attributes["deployment.environment.name"] = cfg.deployment_environment
        self.provider = TracerProvider(
            resource=Resource.create(attributes),
            sampler=ParentBased(TraceIdRatioBased(cfg.providers.otlp.sampling.sampling_ratio)))
        self.provider.add_span_processor(BatchSpanProcessor(exporter or otlp_exporter(cfg)))
        self._tracer = self.provider.get_tracer("gatekeeper", __version__)
        self._propagator = TraceContextTextMapPropagator()

    def server(self, name: str, headers: Iterable[tuple[bytes, bytes]],
               attributes: Attributes) -> AbstractContextManager[Span]:
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in _CONTEXT_HEADERS}
        return self._current(name, SpanKind.SERVER, attributes, self._propagator.extract(carrier, Context()))

    def span(self, name: str, attributes: Attributes | None = None) -> AbstractContextManager[Span]:
        return self._child(name, SpanKind.INTERNAL, attributes)

    def client(self, name: str, attributes: Attributes) -> AbstractContextManager[Span]:
        return self._child(name, SpanKind.CLIENT, attributes)

    def _child(self, name: str, kind: SpanKind, attributes: Attributes | None) -> AbstractContextManager[Span]:
        parent = get_current_span()
        if not parent.is_recording() and parent.get_span_context().is_valid:
            # the trace is not sampled: its children would not be either (parent-based), so none is made; what
            # is propagated onwards is the parent's context, unsampled as well
            return nullcontext(parent)
        return self._current(name, kind, attributes, None)

    @contextmanager
    def _current(self, name: str, kind: SpanKind, attributes: Attributes | None,
                 parent: Context | None) -> Iterator[Span]:
        span = self._tracer.start_span(name, parent, kind, attributes)
        # an exception leaving the block marks the span failed with its type and message, never a stack trace
        with use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=True):
            yield span

    def propagation(self) -> list[tuple[bytes, bytes]]:
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier)
        return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in carrier.items()]

    def in_trace(self) -> bool:
        return get_current_span().get_span_context().is_valid

    def record(self, name: str, seconds: float, attributes: Attributes, failure: str | None = None, *,
               client: bool = False) -> None:
        if not get_current_span().is_recording():
            return  # background work (polling, clean-up) outside any trace, or a trace not sampled
        end = time.time_ns()
        kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
        span = self._tracer.start_span(name, None, kind, attributes, start_time=end - int(seconds * 1e9))
        if failure is not None:
            span.set_status(Status(StatusCode.ERROR, failure))
        span.end(end)

    def fail(self, span: Span, description: str) -> None:
        if isinstance(span, trace.Span):  # every span this tracer hands out
            span.set_status(Status(StatusCode.ERROR, description))

    async def stop(self) -> None:
        """Flush the spans still buffered (the exporter's own timeout bounds it) and shut the provider down."""
        await asyncio.to_thread(self.provider.shutdown)
