"""The one place that turns exceptions into Kratos' error envelope.

    {"error": {"id": "...", "code": 404, "status": "Not Found", "reason": "...", "message": "..."}}

No stack trace or exception text of an unexpected error ever reaches a client; it is logged instead.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatekeeper.asgi import LOGGED
from gatekeeper.errors import GatekeeperError, StoreError, TooManyRequests, envelope

log = logging.getLogger("gatekeeper.api")


def error_response(exc: GatekeeperError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    body = envelope(exc.status, exc.message, error_id=exc.error_id, reason=_public_reason(exc),
                      details=exc.details)
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _public_reason(exc: GatekeeperError) -> str:
    # Store errors carry driver text (hosts, SQL): logged, never sent.
    if isinstance(exc, StoreError):
        log.warning("store error", extra={"reason": exc.reason, "error_type": type(exc).__name__})
        return ""
    return exc.reason


async def handle_gatekeeper_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatekeeperError)
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "The requested resource could not be found",
               405: "The requested method is not allowed for this resource"}.get(exc.status_code, str(exc.detail))
    return JSONResponse(envelope(exc.status_code, message), status_code=exc.status_code, headers=exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc,
              extra={"path": request.url.path, "request_id": request.scope.get("request_id", "")})
    setattr(exc, LOGGED, True)  # Starlette re-raises it; the request observer must not log it again
    return JSONResponse(envelope(500, GatekeeperError.default_message), status_code=500)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    GatekeeperError: handle_gatekeeper_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
