"""CORS for the public identity API (`serve.public.cors`, Kratos' keys and defaults), so SPAs on another
origin (@ory/elements-react, which fetches with credentials) can use it. Off unless enabled.

Applied per route as a pure ASGI wrapper (tables built once); preflights are answered by a catch-all
OPTIONS route placed after every other public route. The rules themselves are `config.cors.CorsPolicy`'s.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatekeeper.config.cors import CorsConfig, CorsPolicy


def _wrap(policy: CorsPolicy, app: ASGIApp) -> ASGIApp:
    async def with_cors(scope: Scope, receive: Receive, send: Send) -> None:
        origin = _origin(scope)
        if origin is None or not policy.allows(origin):
            await app(scope, receive, send)
            return
        extra = policy.actual_headers(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await app(scope, receive, send_with_cors)
    return with_cors


def _preflight(policy: CorsPolicy) -> Route:
    async def preflight(request: Request) -> Response:
        headers = policy.preflight_headers(request.headers.get("origin", ""),
                                           request.headers.get("access-control-request-method", ""),
                                           request.headers.get("access-control-request-headers", ""))
        return Response(status_code=204, headers={k.decode(): v.decode() for k, v in headers})
    return Route("/{path:path}", preflight, methods=["OPTIONS"])


def _origin(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"origin":
            return str(value.decode("latin-1"))
    return None


def apply(routes: list[BaseRoute], cfg: CorsConfig) -> list[BaseRoute]:
    """Wrap every route with CORS and add the preflight route, when enabled."""
    if not cfg.enabled:
        return routes
    policy = CorsPolicy(cfg)
    for route in routes:
        if isinstance(route, Route):
            route.app = _wrap(policy, route.app)
    return [*routes, _preflight(policy)]
