"""The tracer a process runs with (`tracing`), the store statements and the outbound HTTP calls it sees."""

from __future__ import annotations

import logging

import httpx
from httpx._utils import get_environment_proxies

from gatekeeper.config import Config
from gatekeeper.observe import Metrics
from gatekeeper.observe.traced_http import TracedTransport
from gatekeeper.observe.tracing import NoTracer, Tracer
from gatekeeper.server.optional_parts import OtelFactory, PartMissing
from gatekeeper.store import Store
from gatekeeper.store.traced import traced_queries

log = logging.getLogger("gatekeeper")


def build_tracer(config: Config, otel: OtelFactory | None) -> Tracer:
    """OpenTelemetry (made by `otel`) for `tracing.provider: otel`; otherwise nothing is traced (and a provider
    gatekeeper does not export to is said once, at start-up)."""
    tracing = config.tracing
    if tracing.exported:
        if otel is None:
            raise PartMissing("tracing.provider is otel but no OpenTelemetry tracer was handed to the server")
        otlp = tracing.providers.otlp
        log.info("tracing: spans are exported over OTLP/HTTP", extra={
            "server_url": otlp.server_url, "insecure": otlp.insecure, "sampling_ratio": otlp.sampling.sampling_ratio})
        return otel(tracing)
    if tracing.provider:
        log.warning("tracing.provider %r is accepted but gatekeeper exports traces over OTLP only: no spans are sent "
                    "(set tracing.provider: otel and point tracing.providers.otlp.server_url at a collector)",
                    tracing.provider, extra={"key": "tracing.provider", "provider": tracing.provider})
    return NoTracer()


def observe_queries(store: Store, metrics: Metrics, tracer: Tracer) -> None:
    """Every statement in the store metrics, and a span when tracing is on."""
    store.db.on_query = traced_queries(metrics.observe_query, tracer, store.dialect) if tracer.enabled \
        else metrics.observe_query


def http_client(tracer: Tracer, timeout: float = 5.0) -> httpx.AsyncClient:
    """The client gatekeeper's own calls share (handlers, web hooks, key sets, OIDC providers); with tracing on,
    each request made inside a trace is sent in a client span carrying its `traceparent`."""
    if not tracer.enabled:
        return httpx.AsyncClient(timeout=timeout)
    # a client given its transport no longer reads HTTP(S)_PROXY / NO_PROXY itself: the proxies it would have
    # taken from the environment are mounted here (with httpx's own reading of it), traced as well
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        pattern: None if proxy is None else TracedTransport(httpx.AsyncHTTPTransport(proxy=proxy), tracer)
        for pattern, proxy in get_environment_proxies().items()}
    return httpx.AsyncClient(timeout=timeout, transport=TracedTransport(httpx.AsyncHTTPTransport(), tracer),
                             mounts=mounts)
