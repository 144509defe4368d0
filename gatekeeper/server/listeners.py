"""The five listeners and their route tables, in one place. Starlette matches the first route that fits, so
the order of each table is part of the wire behaviour."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatekeeper.asgi import ASGIApp
from gatekeeper.config.cors import CorsPolicy
from gatekeeper.config.serve import ProxyTimeouts, RequestLimits
from gatekeeper.dataplane import Handler, Limits
from gatekeeper.http import cors
from gatekeeper.http.errors import EXCEPTION_HANDLERS
from gatekeeper.http.health import health_routes
from gatekeeper.http.keto.read import KetoReadApi
from gatekeeper.http.keto.write import KetoWriteApi
from gatekeeper.http.kratos.admin import AdminApi
from gatekeeper.http.kratos.oidc import OidcRoutes
from gatekeeper.http.kratos.public import PublicApi
from gatekeeper.http.kratos.settings import SettingsApi
from gatekeeper.http.oathkeeper.api import access_routes
from gatekeeper.http.observer import RequestObserver
from gatekeeper.http.openapi import PUBLIC, doc_routes
from gatekeeper.http.traced import TracedAsgi
from gatekeeper.http.ui.admin.routes import AdminUi
from gatekeeper.http.ui.dev_inbox import DevInbox
from gatekeeper.http.ui.routes import WebUi
from gatekeeper.http.ui.settings import SettingsPage
from gatekeeper.observe import Metrics, Readiness, RequestLog
from gatekeeper.observe.tracing import Tracer
from gatekeeper.proxy.bridge import Bridge
from gatekeeper.proxy.handler import ProxyHandler
from gatekeeper.proxy.health import Health
from gatekeeper.proxy.listeners import ApiListener, PublicListener
from gatekeeper.proxy.observed import Observed, ObservedHandler
from gatekeeper.proxy.traced import Traced
from gatekeeper.server.container import Container

LISTENERS = ("proxy", "public", "admin", "api", "metrics")


def route_tables(c: Container) -> dict[str, list[BaseRoute]]:
    """The routes of each listener besides health (and, on metrics, `/metrics`)."""
    identity, config = c.identity, c.config
    public_api = PublicApi(identity.ctx, identity.flows, identity.whoami, identity.social)
    public = [*public_api.routes(), *WebUi(identity.ctx, identity.flows).routes(),
              *SettingsApi(public_api, identity.flows.settings).routes(),
              *SettingsPage(identity.ctx, identity.flows.settings).routes(), *DevInbox(identity.ctx).routes()]
    if identity.social is not None:
        public.extend(OidcRoutes(public_api, identity.social).routes())
    public = cors.apply(public, config.serve.public.cors)
    public.extend(doc_routes("gatekeeper public API (Ory Kratos v25.4 compatible)", public, PUBLIC))
    tuples = c.permissions.tuples
    admin: list[BaseRoute] = [*AdminApi(identity.ctx, identity.admin, identity.admin_recovery, tuples).routes(),
                              *AdminUi(identity.ctx, identity.admin, identity.admin_recovery, tuples,
                                       c.permissions.namespaces).routes(),
                              *KetoWriteApi(c.permissions).routes()]  # Keto's write API: here, never on api
    admin.extend(doc_routes("gatekeeper admin API (Ory Kratos and Keto v25.4 compatible)", admin, {}))
    access = c.access
    id_token = config.mutators.get("id_token")
    jwks_url = str(id_token.config.get("jwks_url", "")) if id_token and id_token.enabled else ""
    api = [*access_routes(access.repository, access.deps, jwks_url), *KetoReadApi(c.permissions).routes()]
    api.extend(doc_routes("gatekeeper API (Ory Keto v25.4 read API compatible)", api, {}))  # Keto's routes only
    return {"proxy": [], "public": public, "admin": admin, "api": api, "metrics": []}


@dataclass(frozen=True)
class Listeners:
    """What each listener runs: a data-plane handler (proxy, public, api) or an ASGI app (admin, metrics), and
    the limits of the data-plane ones."""

    dataplane: dict[str, Handler]
    asgi: dict[str, ASGIApp]
    limits: dict[str, Limits]


def build_listeners(c: Container) -> Listeners:
    """Every listener: its routes, health checks, error envelope and request observation."""
    tables = route_tables(c)
    identity, access, serve = c.identity, c.access, c.config.serve
    cors_on = serve.public.cors.enabled

    def starlette(routes: list[BaseRoute]) -> Starlette:
        return Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)

    def observed(name: str, handler: ObservedHandler) -> Handler:
        return Observed(Traced(handler, c.tracer, name) if c.tracer.enabled else handler, RequestLog(name, c.metrics))

    proxy = ProxyHandler(
        identity=Bridge(starlette(tables["public"]), prefix=serve.proxy.identity_prefix), whoami=identity.whoami,
        health=Health(c.readiness), repository=access.repository, pipeline=access.proxy_pipeline,
        forwarder=access.forwarder, live=access.live, tunnels=access.tunnels, prefix=serve.proxy.identity_prefix,
        trusted_proxies=serve.proxy.trusted_proxies, strip_headers=access.strip_headers, cors=cors_on,
        app_cors=CorsPolicy(serve.proxy.cors) if serve.proxy.cors.enabled else None)
    public = PublicListener(identity.whoami, Bridge(starlette([*health_routes(c.readiness), *tables["public"]])),
                            cors=cors_on)
    api = ApiListener(access.decisions, Bridge(starlette([*health_routes(c.readiness), *tables["api"]])))
    return Listeners(
        dataplane={"proxy": observed("proxy", proxy), "public": observed("public", public),
                   "api": observed("api", api)},
        asgi={"admin": _observed(c.metrics, "admin", _traced(c.tracer, "admin",
                                                           starlette([*health_routes(c.readiness), *tables["admin"]]))),
              "metrics": metrics_listener(c.metrics, c.readiness)},
        limits={"proxy": _limits(serve.limits, serve.proxy.timeout),
                "public": _limits(serve.limits, ProxyTimeouts(idle=serve.keep_alive_timeout)),
                "api": _limits(serve.limits, serve.api.timeout)})


def _limits(limits: RequestLimits, timeout: ProxyTimeouts) -> Limits:
    """The data-plane server's limits from `serve.limits` and a listener's Oathkeeper-style timeouts."""
    def seconds(duration: float) -> float:
        return float(duration) or 10 ** 9  # 0: no limit

    return Limits(max_request_line=limits.max_request_line, max_headers=limits.max_header_count,
                  max_header_bytes=limits.max_header_bytes, header_timeout=seconds(timeout.read),
                  body_timeout=seconds(timeout.read), write_timeout=seconds(timeout.write),
                  keep_alive_timeout=seconds(timeout.idle))


def metrics_listener(metrics: Metrics, readiness: Readiness) -> ASGIApp:
    """The metrics listener: `/metrics` and health (also alone, for `courier watch --expose-metrics-port`)."""
    async def serve_metrics(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    routes = [*health_routes(readiness), Route("/metrics", serve_metrics, methods=["GET"])]
    return _observed(metrics, "metrics", Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS))


def _traced(tracer: Tracer, listener: str, app: ASGIApp) -> ASGIApp:
    return TracedAsgi(app, tracer, listener=listener) if tracer.enabled else app


def _observed(metrics: Metrics, listener: str, app: ASGIApp) -> ASGIApp:
    return RequestObserver(app, listener=listener, metrics=metrics)
