"""`/health/alive`, `/health/ready` and `/version` on every listener, in Kratos' shapes (the proxy: health only)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gatekeeper import __version__

if TYPE_CHECKING:
    from gatekeeper.app import App

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Returns None when ready, or the reason it is not."""


CHECK_TIMEOUT = 2.0
"""Seconds a readiness check may take: a database that hangs must not hang the probe."""


async def not_ready_reasons(app: App) -> dict[str, str]:
    reasons = {}
    for name, check in app.readiness_checks.items():
        try:
            reason = await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except TimeoutError:
            reason = f"did not answer within {CHECK_TIMEOUT:g}s"
        except Exception as exc:  # noqa: BLE001 - a failing check means not ready, whatever it raised
            reason = f"{type(exc).__name__}"
        if reason:
            reasons[name] = reason
    app.metrics.ready.set(0 if reasons else 1)
    return reasons


def health_routes(app: App) -> list[Route]:
    async def alive(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        reasons = await not_ready_reasons(app)
        if reasons:
            return JSONResponse({"errors": reasons}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def version(request: Request) -> JSONResponse:
        return JSONResponse({"version": __version__})

    return [Route("/health/alive", alive, methods=["GET", "HEAD"]),
            Route("/health/ready", ready, methods=["GET", "HEAD"]),
            Route("/version", version, methods=["GET", "HEAD"])]
