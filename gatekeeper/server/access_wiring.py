"""The access domain and the data plane built on it: rule repository, the two pipelines, the upstream
forwarder, long-lived connection tracking and the decisions endpoint."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from gatekeeper.access.handlers import Deps
from gatekeeper.access.metrics import AccessMetrics
from gatekeeper.access.pipeline import Pipeline
from gatekeeper.access.ports import PermissionChecker, SessionSource
from gatekeeper.access.repository import RuleRepository
from gatekeeper.access.traced import TracedPipeline
from gatekeeper.config import Config, ConfigError, ConfigProblem
from gatekeeper.jwks import JwksCache
from gatekeeper.observe import Metrics
from gatekeeper.observe.tracing import Tracer
from gatekeeper.proxy.decisions import Decisions
from gatekeeper.proxy.forward import Forwarder
from gatekeeper.proxy.live import LiveConnections
from gatekeeper.proxy.traced import TracedForwarder
from gatekeeper.proxy.tunnel import Tunnels

log = logging.getLogger("gatekeeper.access")


@dataclass(frozen=True)
class AccessServices:
    """What the access domain offers the listeners."""

    deps: Deps
    repository: RuleRepository
    proxy_pipeline: Pipeline
    forwarder: Forwarder
    tunnels: Tunnels
    live: LiveConnections
    decisions: Decisions
    strip_headers: frozenset[bytes]  # client headers removed before the rules run (proxy and decisions)


def build_access(config: Config, http: httpx.AsyncClient, metrics: Metrics, sessions: SessionSource,
                 jwks: JwksCache, tracer: Tracer, permissions: PermissionChecker | None = None) -> AccessServices:
    """`tracer`: when it is enabled, the traced pipeline and forwarder (the untraced ones do no tracing work);
    `permissions`: Keto's checks in process (`remote_json` to our own check endpoint, `check()` in expressions)."""
    access_metrics = AccessMetrics(metrics.registry)

    def pipeline(mode: str) -> Pipeline:
        if tracer.enabled:
            return TracedPipeline(lambda: repository.current, access_metrics, mode, tracer)
        return Pipeline(lambda: repository.current, access_metrics, mode)

    deps = Deps(http=http, session_source=sessions, jwks=jwks, permissions=permissions)
    repository = RuleRepository(config, deps, access_metrics)
    if config.serve.proxy.trust_forwarded_headers and not config.serve.proxy.trusted_proxies:
        log.warning("serve.proxy.trust_forwarded_headers has no effect until serve.proxy.trusted_proxies "
                    "lists the CIDRs of the proxies in front of gatekeeper")
    strip = frozenset(h.lower().replace("_", "-").encode("latin-1") for h in config.serve.proxy.strip_request_headers)
    try:
        decisions = Decisions(repository, pipeline("decisions"),
                              allowed_callers=config.serve.api.decisions_allowed_callers, strip_headers=strip)
    except ValueError as exc:
        path = "serve.api.decisions_allowed_callers"
        raise ConfigError([ConfigProblem(config.source.file(path), config.source.line(path), path, str(exc))]) from None
    upstream = config.serve.proxy.upstream
    forwarder = TracedForwarder(upstream, tracer) if tracer.enabled else Forwarder(upstream)
    return AccessServices(
        deps=deps, repository=repository,
        proxy_pipeline=pipeline("proxy"),
        forwarder=forwarder, tunnels=Tunnels(forwarder),
        live=LiveConnections(metrics.registry),  # WebSocket/SSE connections end with their session
        decisions=decisions, strip_headers=strip)
