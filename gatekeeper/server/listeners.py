"""The five listeners and their route tables, in one place. Starlette matches the first route that fits, so
the order of each table is part of the wire behaviour."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatekeeper.asgi import ASGIApp, Receive, Scope, Send
from gatekeeper.http import cors
from gatekeeper.http.errors import EXCEPTION_HANDLERS
from gatekeeper.http.health import health_routes
from gatekeeper.http.kratos.admin import AdminApi
from gatekeeper.http.kratos.oidc import OidcRoutes
from gatekeeper.http.kratos.public import PublicApi
from gatekeeper.http.kratos.settings import SettingsApi
from gatekeeper.http.oathkeeper.api import access_routes
from gatekeeper.http.observer import RequestObserver
from gatekeeper.http.openapi import PUBLIC, doc_routes
from gatekeeper.http.ui.admin.routes import AdminUi
from gatekeeper.http.ui.routes import WebUi
from gatekeeper.http.ui.settings import SettingsPage
from gatekeeper.observe import Metrics, Readiness
from gatekeeper.proxy.app import ProxyApp
from gatekeeper.server.container import Container

LISTENERS = ("proxy", "public", "admin", "api", "metrics")


def route_tables(c: Container) -> dict[str, list[BaseRoute]]:
    """The routes of each listener besides health (and, on metrics, `/metrics`)."""
    identity, config = c.identity, c.config
    public_api = PublicApi(identity.ctx, identity.flows, identity.whoami)
    public = [*public_api.routes(), *WebUi(identity.ctx, identity.flows).routes(),
              *SettingsApi(public_api, identity.flows.settings).routes(),
              *SettingsPage(identity.ctx, identity.flows.settings).routes()]
    if identity.social is not None:
        public.extend(OidcRoutes(public_api, identity.social).routes())
    public = cors.apply(public, cors.parse(config.serve.public.cors, config.source))
    public.extend(doc_routes("gatekeeper public API (Ory Kratos v25.4 compatible)", public, PUBLIC))
    admin: list[BaseRoute] = [*AdminApi(identity.ctx, identity.admin, identity.admin_recovery).routes(),
                              *AdminUi(identity.ctx, identity.admin, identity.admin_recovery).routes()]
    admin.extend(doc_routes("gatekeeper admin API (Ory Kratos v25.4 compatible)", admin, {}))
    access = c.access
    id_token = config.mutators.get("id_token")
    jwks_url = str(id_token.config.get("jwks_url", "")) if id_token and id_token.enabled else ""
    api = access_routes(access.repository, access.decisions, access.deps, jwks_url)
    return {"proxy": [], "public": public, "admin": admin, "api": api, "metrics": []}


def build_listeners(c: Container) -> dict[str, ASGIApp]:
    """Every listener's ASGI app: its routes, health checks, error envelope and request observation."""
    tables = route_tables(c)
    apps = {name: _observed(c.metrics, name, Starlette(routes=[*health_routes(c.readiness), *tables[name]],
                                                       exception_handlers=EXCEPTION_HANDLERS))
            for name in ("public", "admin", "api")}
    identity = Starlette(routes=tables["public"], exception_handlers=EXCEPTION_HANDLERS)
    proxy = c.config.serve.proxy
    apps["proxy"] = _observed(c.metrics, "proxy", _with_health(c.readiness, ProxyApp(
        identity, c.access.repository, c.access.proxy_pipeline, c.access.forwarder, prefix=proxy.identity_prefix,
        trusted_proxies=proxy.trusted_proxies, live=c.access.live)))
    apps["metrics"] = metrics_listener(c.metrics, c.readiness)
    return {name: apps[name] for name in LISTENERS}


def metrics_listener(metrics: Metrics, readiness: Readiness) -> ASGIApp:
    """The metrics listener: `/metrics` and health (also alone, for `courier watch --expose-metrics-port`)."""
    async def serve_metrics(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes = [*health_routes(readiness), Route("/metrics", serve_metrics, methods=["GET"])]
    return _observed(metrics, "metrics", Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS))


def _observed(metrics: Metrics, listener: str, app: ASGIApp) -> ASGIApp:
    return RequestObserver(app, listener=listener, metrics=metrics)


def _with_health(readiness: Readiness, proxy: ASGIApp) -> ASGIApp:
    health = Starlette(routes=health_routes(readiness), exception_handlers=EXCEPTION_HANDLERS)

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/health/alive", "/health/ready"):
            await health(scope, receive, send)
        else:
            await proxy(scope, receive, send)

    return route
