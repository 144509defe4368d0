"""What can go wrong between a client and a handler, and how the server words its own refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus

Headers = list[tuple[bytes, bytes]]
ErrorRenderer = Callable[[int, str], tuple[Headers, bytes]]
"""`error_response(status, reason) -> (headers, body)`: the body of every answer the server gives itself."""


class ClientDisconnected(ConnectionError):
    """The client went away: raised by the body iterator and by `Responder.write()`."""


class BodyError(Exception):
    """The request body cannot be read whole; if a handler lets it propagate, the server answers `status`."""

    status = 400


class MalformedBody(BodyError):
    """The body's framing is broken (bad chunk size, missing CRLF after chunk data, ...)."""


class BodyTooLarge(BodyError):
    """The body is larger than the limit `read_body()` was given."""

    status = 413


class BodyTimeout(BodyError):
    """The client sent nothing for `Limits.body_timeout` while the handler waited for body bytes."""

    status = 408


class ResponseError(Exception):
    """The handler's response is malformed (a programming error): 502 if nothing was sent yet."""


_MESSAGES = {
    400: "The request was malformed or contained invalid parameters",
    404: "The requested resource could not be found",
    405: "The requested method is not allowed for this resource",
    408: "The request was not received in time",
    413: "The request body is too large",
    414: "The request target is too long",
    431: "The request headers are too large",
    500: "An internal server error occurred, please contact the system administrator",
    502: "The upstream service could not be reached",
}


def json_error(status: int, reason: str) -> tuple[Headers, bytes]:
    """gatekeeper's error envelope: `{"error": {"code", "status", "message", "reason"}}`."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    body = {"error": {"code": status, "status": phrase, "message": _MESSAGES.get(status, phrase), "reason": reason}}
    return [(b"content-type", b"application/json")], json.dumps(body, separators=(",", ":")).encode()
