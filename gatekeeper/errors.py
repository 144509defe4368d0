"""The one exception tree and Kratos' error envelope (`envelope`, read back by `envelope_error`); `http/errors.py`
maps the tree to responses.

    GatekeeperError (500, "internal_server_error"?)
    ├── BadRequest (400)                   malformed input the client can fix
    │   └── InvalidRequestPath (400)       a path we refuse to route (encoded slashes, NUL, ...)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── Conflict (409)
    ├── Gone (410)
    ├── PayloadTooLarge (413)              a body over the configured limit
    ├── UnsupportedBody (415)              a body in a content type we do not read
    ├── TooManyRequests (429)              carries retry_after seconds
    ├── UpstreamError (502) / UpstreamTimeout (504)
    ├── UpstreamBusy (503)                 every connection to the upstream is in use (serve.proxy.upstream)
    └── StoreError (500)
        ├── StoreUnavailable (503)         the database cannot be reached: deny, never allow
        └── UniqueViolation (409)          an insert hit a unique constraint
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any, ClassVar


def envelope(status: int, message: str, *, error_id: str | None = None, reason: str = "",
             details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Kratos' error envelope: `{"error": {"id", "code", "status", "reason", "message", "details"}}`."""
    error: dict[str, Any] = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if error_id:
        error["id"] = error_id
    if reason:
        error["reason"] = reason
    if details:
        error["details"] = details
    return {"error": error}


def envelope_error(body: str) -> dict[str, Any] | None:
    """The `error` member of the envelope an answer's `body` holds (Kratos' and every Ory API's); None when the
    body is not one."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    return error if isinstance(error, dict) else None


def envelope_reason(body: str) -> str:
    """Why an answer failed, for a person to read: its envelope's reason (else its message), or the start of a body
    that is no envelope."""
    error = envelope_error(body)
    return body[:200] if error is None else str(error.get("reason") or error.get("message"))


def error_json(exc: GatekeeperError) -> dict[str, Any]:
    """What a client receives for `exc`: the envelope (store errors keep their driver text to the logs) with the
    error's `extra` members beside `error`."""
    reason = "" if isinstance(exc, StoreError) else exc.reason
    body = envelope(exc.status, exc.message, error_id=exc.error_id, reason=reason, details=exc.details)
    if exc.extra:
        body.update(exc.extra)
    return body


class GatekeeperError(Exception):
    """Base of every error a client may see; class attributes carry the wire values.

    `extra`: top-level members added beside `error` in the JSON body (Kratos' `redirect_browser_to`,
    `use_flow_id`); `browser_redirect`: where an HTML request is sent instead of an error page;
    `json_only`: answer JSON even to a browser (errors of API flows).
    """

    status: ClassVar[int] = 500
    id: ClassVar[str | None] = None
    default_message: ClassVar[str] = "An internal server error occurred, please contact the system administrator"
    extra: dict[str, Any] | None = None
    browser_redirect: str | None = None
    json_only: bool = False

    def __init__(self, message: str | None = None, *, reason: str = "",
                 details: dict[str, Any] | None = None, error_id: str | None = None) -> None:
        self.message = message or self.default_message
        self.reason = reason
        self.details = details or {}
        self.error_id = error_id or self.id
        super().__init__(self.message)


class BadRequest(GatekeeperError):
    status = 400
    default_message = "The request was malformed or contained invalid parameters"


class InvalidRequestPath(BadRequest):
    default_message = "The request path is not acceptable"


class Unauthorized(GatekeeperError):
    status = 401
    default_message = "The request could not be authorized"


class Forbidden(GatekeeperError):
    status = 403
    default_message = "The requested action was forbidden"


class NotFound(GatekeeperError):
    status = 404
    default_message = "The requested resource could not be found"


class Conflict(GatekeeperError):
    status = 409
    default_message = "The resource could not be created due to a conflict"


class Gone(GatekeeperError):
    status = 410
    default_message = "The requested resource is no longer available"


class PayloadTooLarge(BadRequest):
    status = 413
    default_message = "The request body is too large"


class UnsupportedBody(BadRequest):
    status = 415
    default_message = "The request body has an unsupported content type"


class TooManyRequests(GatekeeperError):
    status = 429
    default_message = "Too many requests, please try again later"

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class UpstreamError(GatekeeperError):
    status = 502
    default_message = "The upstream service could not be reached"


class UpstreamTimeout(GatekeeperError):
    status = 504
    default_message = "The upstream service did not answer in time"


class UpstreamBusy(GatekeeperError):
    status = 503
    default_message = "The upstream service is busy, please try again later"


class StoreError(GatekeeperError):
    status = 500


class StoreUnavailable(StoreError):
    status = 503
    default_message = "The identity store is unavailable, please try again later"


class UniqueViolation(StoreError, Conflict):
    status = 409
    default_message = "A resource with the same unique value already exists"
