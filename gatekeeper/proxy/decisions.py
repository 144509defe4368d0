"""Oathkeeper's decisions API (`/decisions/<path>` on `:4456`) on the data-plane server: `X-Forwarded-Method/
Proto/Host/Uri` describe the request; 200 with the mutated headers (never the client's own), or the error
handler's answer. Works behind nginx `auth_request`, Traefik `forwardAuth` and Envoy `ext_authz` (HTTP)."""

from __future__ import annotations

from gatekeeper.access.pipeline import Pipeline, render_bad_request
from gatekeeper.access.repository import RuleRepository
from gatekeeper.access.request_view import decisions_view, drop_headers, in_networks, parse_networks
from gatekeeper.dataplane import Request, Responder
from gatekeeper.errors import Forbidden, GatekeeperError
from gatekeeper.proxy.answer import answer, decide, refuse
from gatekeeper.proxy.body import RequestBody
from gatekeeper.proxy.observed import Exchange

PREFIX = b"/decisions"
ROUTE = "/decisions{rest:path}"  # the route label of requests that match no rule (as the Starlette route was)


class Decisions:
    def __init__(self, repository: RuleRepository, pipeline: Pipeline, *, allowed_callers: tuple[str, ...] = (),
                 strip_headers: frozenset[bytes] = frozenset()) -> None:
        """Raises ValueError when `allowed_callers` holds something that is not a CIDR."""
        self.repository, self.pipeline = repository, pipeline
        self.allowed = parse_networks(allowed_callers)
        self.strip_headers = strip_headers

    @staticmethod
    def asks(request: Request) -> bool:
        return request.path.startswith(PREFIX)

    async def __call__(self, request: Request, responder: Responder, exchange: Exchange) -> None:
        exchange.route = ROUTE
        peer = request.client[0]
        if self.allowed and not in_networks(peer, self.allowed):
            refuse(responder, Forbidden(reason="this address may not ask for decisions"))
            return
        try:
            view = decisions_view(request.method.decode("latin-1"), "http", request.path[len(PREFIX):],
                                  request.query, drop_headers(request.headers, self.strip_headers), peer)
        except GatekeeperError as exc:
            answer(responder, render_bad_request(exc, self.repository.current))
            return
        view.body = RequestBody(request)
        decision = await decide(self.pipeline, view, responder, exchange)
        if decision is None:
            return
        assert decision.session is not None
        responder.respond(200, [(k.encode("latin-1"), v.encode("utf-8")) for k, v in decision.session.header.items()
                                if k.lower() != "content-length"])
