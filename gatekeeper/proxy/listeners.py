"""The other data-plane listeners: `:4433` answers whoami directly and the rest of the Kratos public API through
the ASGI bridge; `:4456` answers decisions directly and `/rules`, JWKS and health through the bridge."""

from __future__ import annotations

from gatekeeper.dataplane import Request, Responder
from gatekeeper.identity.whoami import Whoami
from gatekeeper.proxy.bridge import Bridge
from gatekeeper.proxy.decisions import Decisions
from gatekeeper.proxy.observed import Exchange

WHOAMI = b"/sessions/whoami"


def answers_whoami(request: Request, path: bytes, cors: bool) -> bool:
    """Whether whoami is answered directly: a GET of `path`, unless CORS is on and the request is cross-origin
    (then the CORS-wrapped route answers, with its headers)."""
    return request.path == path and request.method == b"GET" and not (cors and request.header(b"origin"))


class PublicListener:
    __slots__ = ("whoami", "routes", "cors")

    def __init__(self, whoami: Whoami, routes: Bridge, *, cors: bool) -> None:
        """`cors`: whether the public API answers cross-origin requests (`serve.public.cors.enabled`)."""
        self.whoami, self.routes, self.cors = whoami, routes, cors

    async def __call__(self, request: Request, responder: Responder, exchange: Exchange) -> None:
        if answers_whoami(request, WHOAMI, self.cors):
            exchange.route = "/sessions/whoami"
            responder.respond(*await self.whoami.answer(request.headers, request.query))
        else:
            await self.routes(request, responder, exchange)


class ApiListener:
    __slots__ = ("decisions", "routes")

    def __init__(self, decisions: Decisions, routes: Bridge) -> None:
        self.decisions, self.routes = decisions, routes

    async def __call__(self, request: Request, responder: Responder, exchange: Exchange) -> None:
        if self.decisions.asks(request):
            await self.decisions(request, responder, exchange)
        else:
            await self.routes(request, responder, exchange)
