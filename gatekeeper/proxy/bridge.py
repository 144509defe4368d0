"""Starlette routes behind a data-plane listener: the ASGI bridge, with the request id and route label the
ASGI listeners give their requests (`gatekeeper.asgi`), and an optional mount prefix (`/.auth` on the proxy)."""

from __future__ import annotations

from gatekeeper.asgi import LOG_KEY, UNMATCHED, ASGIApp, route_label
from gatekeeper.dataplane import Request, Responder
from gatekeeper.dataplane.asgi import AsgiBridge
from gatekeeper.proxy.observed import Exchange


class Bridge:
    """Runs `app` for a request; under `prefix` the app sees the path below it (and `root_path` = prefix)."""

    __slots__ = ("bridge", "prefix")

    def __init__(self, app: ASGIApp, *, prefix: str = "") -> None:
        self.bridge = AsgiBridge(app, root_path=prefix)
        self.prefix = prefix

    async def __call__(self, request: Request, responder: Responder, exchange: Exchange) -> None:
        scope = await self.bridge.run(request, responder, {"request_id": exchange.request_id})
        label = route_label(scope)
        exchange.route = self.prefix + label if self.prefix and label != UNMATCHED else label
        exchange.fields = scope.get(LOG_KEY)
