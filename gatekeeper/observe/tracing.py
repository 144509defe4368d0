"""The tracing seam: what instrumented code asks of a tracer, and the tracer that does nothing (tracing off).

The data plane pays nothing for tracing when it is off: the composition root wires the traced variants of the
proxy's parts only when `tracer.enabled`. Off the hot path (courier, hashing, store), code holds a `Tracer` and
calls it either way. The OpenTelemetry implementation is `observe.otel.OtelTracer`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Protocol

AttributeValue = str | bool | int | float
Attributes = Mapping[str, AttributeValue]


class Span(Protocol):
    """The part of a span instrumented code touches (OpenTelemetry's spans fit)."""

    def set_attribute(self, key: str, value: AttributeValue) -> None: ...

    def update_name(self, name: str) -> None: ...


class Tracer(Protocol):
    enabled: bool

    def server(self, name: str, headers: Iterable[tuple[bytes, bytes]],
               attributes: Attributes) -> AbstractContextManager[Span]:
        """A server span, the current one inside the block, continuing the caller's W3C `traceparent`."""

    def span(self, name: str, attributes: Attributes | None = None) -> AbstractContextManager[Span]:
        """An internal span, child of the current one (a new trace when there is none)."""

    def client(self, name: str, attributes: Attributes) -> AbstractContextManager[Span]:
        """A client span (a call to another service); `propagation()` inside it gives the headers to send."""

    def propagation(self) -> list[tuple[bytes, bytes]]:
        """`traceparent` (and `tracestate`) naming the current span, for the service called next."""

    def in_trace(self) -> bool:
        """Whether some span is current (sampled or not): work outside any trace (polling, start-up) makes none."""

    def record(self, name: str, seconds: float, attributes: Attributes, failure: str | None = None, *,
               client: bool = False) -> None:
        """A step that just ended after `seconds`, as a child of the current span; nothing outside a trace.
        `client`: a call to another service (a database statement)."""

    def fail(self, span: Span, description: str) -> None:
        """Mark `span` as failed."""

    async def stop(self) -> None:
        """Send what is buffered and stop."""


class _NoSpan:
    __slots__ = ()

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        return None

    def update_name(self, name: str) -> None:
        return None


NO_SPAN: Span = _NoSpan()


class NoTracer:
    """Tracing off (no `tracing.provider`, or one gatekeeper does not export to): every call does nothing."""

    enabled = False

    def server(self, name: str, headers: Iterable[tuple[bytes, bytes]],
               attributes: Attributes) -> AbstractContextManager[Span]:
        return contextlib.nullcontext(NO_SPAN)

    def span(self, name: str, attributes: Attributes | None = None) -> AbstractContextManager[Span]:
        return contextlib.nullcontext(NO_SPAN)

    def client(self, name: str, attributes: Attributes) -> AbstractContextManager[Span]:
        return contextlib.nullcontext(NO_SPAN)

    def propagation(self) -> list[tuple[bytes, bytes]]:
        return []

    def in_trace(self) -> bool:
        return False

    def record(self, name: str, seconds: float, attributes: Attributes, failure: str | None = None, *,
               client: bool = False) -> None:
        return None

    def fail(self, span: Span, description: str) -> None:
        return None

    async def stop(self) -> None:
        return None
