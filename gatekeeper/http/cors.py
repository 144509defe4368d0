"""CORS for the public identity API (`serve.public.cors`, Kratos' keys and defaults), so SPAs on another
origin (@ory/elements-react, which fetches with credentials) can use it. Off unless enabled.

Applied per route as a pure ASGI wrapper (tables built once); preflights are answered by a catch-all
OPTIONS route placed after every other public route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatekeeper.config import ConfigError, ConfigProblem
from gatekeeper.config.convert import build
from gatekeeper.yamlpos import Source


@dataclass(frozen=True)
class CorsConfig:
    enabled: bool = False
    allowed_origins: tuple[str, ...] = ("*",)
    allowed_methods: tuple[str, ...] = ("POST", "GET", "PUT", "PATCH", "DELETE")
    allowed_headers: tuple[str, ...] = ("Authorization", "Content-Type", "Max-Age", "X-Session-Token",
                                        "X-XSRF-TOKEN", "X-CSRF-TOKEN")
    exposed_headers: tuple[str, ...] = ("Content-Type",)
    allow_credentials: bool = True
    max_age: int = 0
    debug: bool = False
    options_passthrough: bool = False


def parse(raw: Mapping[str, Any], source: Source) -> CorsConfig:
    problems: list[ConfigProblem] = []
    cfg = build(CorsConfig, dict(raw), at="serve.public.cors", source=source, problems=problems)
    if problems:
        raise ConfigError(problems)
    return cfg


class Cors:
    """Decides and writes the CORS headers for one configuration."""

    def __init__(self, cfg: CorsConfig) -> None:
        self.cfg = cfg
        self.any_origin = "*" in cfg.allowed_origins
        self._exact = {o.lower() for o in cfg.allowed_origins if "*" not in o}
        self._patterns = [re.compile("^" + re.escape(o.lower()).replace(r"\*", "[^./]+(?:\\.[^./]+)*") + "$")
                          for o in cfg.allowed_origins if "*" in o and o != "*"]
        self._methods = ", ".join(m.upper() for m in cfg.allowed_methods)
        self._headers = ", ".join(cfg.allowed_headers)
        self._allowed_headers = {h.lower() for h in cfg.allowed_headers}
        self._exposed = ", ".join(cfg.exposed_headers).encode()

    def allows(self, origin: str) -> bool:
        lowered = origin.lower()
        return self.any_origin or lowered in self._exact or any(p.match(lowered) for p in self._patterns)

    def origin_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        echo = origin if (self.cfg.allow_credentials or not self.any_origin) else "*"
        headers = [(b"access-control-allow-origin", echo.encode("latin-1")), (b"vary", b"Origin")]
        if self.cfg.allow_credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def with_cors(scope: Scope, receive: Receive, send: Send) -> None:
            origin = _origin(scope)
            if origin is None or not self.allows(origin):
                await app(scope, receive, send)
                return
            extra = [*self.origin_headers(origin)]
            if self._exposed:
                extra.append((b"access-control-expose-headers", self._exposed))

            async def send_with_cors(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
                await send(message)

            await app(scope, receive, send_with_cors)
        return with_cors

    async def preflight(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        method = request.headers.get("access-control-request-method", "").upper()
        wanted = [h.strip().lower() for h in request.headers.get("access-control-request-headers", "").split(",")
                  if h.strip()]
        if not origin or not self.allows(origin) or method not in self._methods.split(", ") or \
                any(h not in self._allowed_headers for h in wanted):
            return Response(status_code=204)  # no CORS headers: the browser refuses the real request
        headers = dict((k.decode(), v.decode()) for k, v in self.origin_headers(origin))
        headers.update({"Access-Control-Allow-Methods": self._methods, "Access-Control-Allow-Headers": self._headers})
        if self.cfg.max_age:
            headers["Access-Control-Max-Age"] = str(self.cfg.max_age)
        return Response(status_code=204, headers=headers)


def _origin(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"origin":
            return str(value.decode("latin-1"))
    return None


def apply(routes: list[BaseRoute], cfg: CorsConfig) -> list[BaseRoute]:
    """Wrap every route with CORS and add the preflight route, when enabled."""
    if not cfg.enabled:
        return routes
    cors = Cors(cfg)
    for route in routes:
        if isinstance(route, Route):
            route.app = cors.wrap(route.app)
    return [*routes, Route("/{path:path}", cors.preflight, methods=["OPTIONS"])]
