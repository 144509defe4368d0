"""The Oathkeeper half: access rules, the handler pipeline, proxy and decisions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gatekeeper.access.handlers import Deps, load_handlers
from gatekeeper.access.jwks import JwksCache
from gatekeeper.access.metrics import AccessMetrics
from gatekeeper.access.pipeline import Pipeline
from gatekeeper.access.repository import RuleRepository
from gatekeeper.config import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from gatekeeper.app import App

log = logging.getLogger("gatekeeper.access")


class _AppSessions:
    """Late-bound view of `app.session_source` (the identity half may set it after us)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def session_for_token(self, token: str) -> Mapping[str, Any] | None:
        source = self.app.session_source
        if source is None:
            return None
        return await source.session_for_token(token)


class _ForwarderService:
    def __init__(self, forwarder: Any) -> None:
        self.forwarder = forwarder

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.forwarder.close()


async def setup(app: App) -> None:
    """Register the rule repository, the proxy factory and the access API routes on `app`."""
    from gatekeeper.http.oathkeeper.api import access_routes
    from gatekeeper.http.oathkeeper.decisions import Decisions
    from gatekeeper.proxy.app import proxy_factory
    from gatekeeper.proxy.forward import Forwarder
    from gatekeeper.proxy.live import LiveConnections

    load_handlers()
    config = app.config
    metrics = AccessMetrics(app.metrics.registry)
    deps = Deps(http=app.http, session_source=_AppSessions(app), jwks=JwksCache(app.http))
    repository = RuleRepository(config, deps, metrics)
    if config.serve.proxy.trust_forwarded_headers and not config.serve.proxy.trusted_proxies:
        log.warning("serve.proxy.trust_forwarded_headers has no effect until serve.proxy.trusted_proxies "
                    "lists the CIDRs of the proxies in front of gatekeeper")
    forwarder = Forwarder(config.serve.proxy.timeout)
    proxy_pipeline = Pipeline(lambda: repository.current, metrics, "proxy")
    decision_pipeline = Pipeline(lambda: repository.current, metrics, "decisions")
    live = LiveConnections(app.metrics.registry)  # WebSocket/SSE connections end with their session
    app.extensions.setdefault("on_sessions_revoked", []).append(live.revoked)
    app.services.append(live)
    app.extensions["live_connections"] = live
    app.proxy_factory = proxy_factory(repository, proxy_pipeline, forwarder, live)
    id_token = config.mutators.get("id_token")
    jwks_url = str(id_token.config.get("jwks_url", "")) if id_token and id_token.enabled else ""
    callers = config.serve.api.decisions_allowed_callers
    try:
        decisions = Decisions(repository, decision_pipeline, callers)
    except ValueError as exc:
        path = "serve.api.decisions_allowed_callers"
        raise ConfigError([ConfigProblem(config.source.name, config.source.line(path), path, str(exc))]) from None
    app.routes["api"].extend(access_routes(repository, decisions, deps, jwks_url))
    app.readiness_checks["rules"] = repository.ready
    app.services.append(repository)
    app.services.append(_ForwarderService(forwarder))
    app.extensions["access"] = repository
