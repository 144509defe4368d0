"""`/health/alive`, `/health/ready` and `/version` on every listener, in Kratos' shapes (the proxy: health only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gatekeeper import __version__
from gatekeeper.observe import Readiness


def health_routes(readiness: Readiness) -> list[Route]:
    async def alive(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        reasons = await readiness.reasons()
        if reasons:
            return JSONResponse({"errors": reasons}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def version(request: Request) -> JSONResponse:
        return JSONResponse({"version": __version__})

    return [Route("/health/alive", alive, methods=["GET", "HEAD"]),
            Route("/health/ready", ready, methods=["GET", "HEAD"]),
            Route("/version", version, methods=["GET", "HEAD"])]
