"""`/health/alive` and `/health/ready` on the data-plane listeners, in Kratos' shapes (as http/health.py)."""

from __future__ import annotations

import json

from gatekeeper.dataplane import Request, Responder
from gatekeeper.observe import Readiness
from gatekeeper.proxy.observed import Exchange

_JSON = (b"content-type", b"application/json")
_OK = b'{"status":"ok"}'
PATHS = (b"/health/alive", b"/health/ready")


class Health:
    __slots__ = ("readiness",)

    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness

    @staticmethod
    def asks(request: Request) -> bool:
        return request.path in PATHS and request.method in (b"GET", b"HEAD")

    async def __call__(self, request: Request, responder: Responder, exchange: Exchange) -> None:
        exchange.route = request.path.decode()
        reasons = await self.readiness.reasons() if request.path == b"/health/ready" else None
        if reasons:
            responder.respond(503, [_JSON], json.dumps({"errors": reasons}, separators=(",", ":")).encode())
        else:
            responder.respond(200, [_JSON], _OK)
