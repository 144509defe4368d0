"""`json`: the error envelope with the error's status (generic message unless `verbose`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from gatekeeper.access.errors.base import Condition, ErrorResponse, HandlerBase, WhenMixin, error_name
from gatekeeper.access.handlers import Deps
from gatekeeper.access.request_view import RequestView
from gatekeeper.errors import GatekeeperError, TooManyRequests, envelope

_GENERIC = {
    401: "The request could not be authorized",
    403: "The requested action was forbidden",
    404: "The requested resource could not be found",
    500: "An internal server error occurred, please contact the system administrator",
}


@dataclass(frozen=True)
class JsonConfig(HandlerBase):
    verbose: bool = False


def render_json(error: GatekeeperError, *, verbose: bool) -> ErrorResponse:
    status = error.status
    message = error.message if verbose or status not in _GENERIC else _GENERIC[status]
    body = envelope(status, message, error_id=error.error_id or error_name(status),
                      reason=error.reason if verbose else "",
                      details={k: v for k, v in error.details.items() if k != "headers"} if verbose else None)
    headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
    if isinstance(error, TooManyRequests):
        headers.append(("Retry-After", str(error.retry_after)))
        headers.extend((k, v) for k, v in error.details.get("headers", {}).items() if k.lower() != "retry-after")
    return ErrorResponse(status, tuple(headers), json.dumps(body).encode())


class Json(WhenMixin):
    def __init__(self, cfg: JsonConfig, deps: Deps) -> None:
        self.verbose = cfg.verbose
        self.conditions = tuple(Condition(w) for w in cfg.when)

    def render(self, error: GatekeeperError, view: RequestView | None) -> ErrorResponse:
        return render_json(error, verbose=self.verbose)
