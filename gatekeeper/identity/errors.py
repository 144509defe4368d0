"""Identity errors: Kratos' error ids and statuses on the class (the envelope is built in api/errors.py).

    GatekeeperError
    ├── BadRequest: SessionAlreadyAvailable, ReturnToForbidden, FlowDisabled, ApiFlowBrowserRequest,
    │               CannotRevokeCurrentSession
    ├── Unauthorized: NoActiveSession (whoami's fixed 401), SessionInactive
    ├── Forbidden: CsrfViolation
    ├── NotFound: FlowNotFound
    └── Gone: FlowExpired (adds use_flow_id / expired_at at the top level)
"""

from __future__ import annotations

from typing import Any

from gatekeeper.errors import BadRequest, Forbidden, Gone, NotFound, Unauthorized


class SessionAlreadyAvailable(BadRequest):
    id = "session_already_available"
    default_message = "A valid session was detected and thus this flow can not be initialized."


class ReturnToForbidden(BadRequest):
    id = "self_service_flow_return_to_forbidden"
    default_message = "Requested return_to URL is not allowed."

    def __init__(self) -> None:
        super().__init__(reason="The requested return_to URL is not on the list of allowed return URLs.")


class FlowDisabled(BadRequest):
    id = "self_service_flow_disabled"
    default_message = "This endpoint was disabled by system administrator. Please check your url or contact the " \
                      "system administrator to enable it."


class ApiFlowBrowserRequest(BadRequest):
    """An API flow submitted with browser traits (cookies or Origin): Kratos refuses it."""

    def __init__(self) -> None:
        super().__init__(reason="API-based flows must not set cookies or an Origin header. This request looks like "
                                "it came from a browser: use the browser flow (/self-service/<flow>/browser) "
                                "instead.")


class CannotRevokeCurrentSession(BadRequest):
    def __init__(self) -> None:
        super().__init__(reason="You tried to revoke the session you are currently using: log out instead.")


class NoActiveSession(Unauthorized):
    """whoami's 401: no id, fixed reason (clients match on it)."""

    def __init__(self) -> None:
        super().__init__(reason="No valid session credentials found in the request.")


class SessionInactive(Unauthorized):
    id = "session_inactive"

    def __init__(self) -> None:
        super().__init__(reason="No active session was found in this request.")


class CsrfViolation(Forbidden):
    id = "security_csrf_violation"
    default_message = "the request was rejected to protect you from Cross-Site-Request-Forgery"

    def __init__(self, reject_reason: str) -> None:
        super().__init__(
            reason="Please retry the flow and optionally clear your cookies. The request was rejected to protect "
                   "you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal "
                   "information, and other serious security issues.",
            details={"docs": "https://www.ory.sh/kratos/docs/debug/csrf",
                     "hint": "To find out more about CSRF, read the Ory Kratos CSRF documentation.",
                     "reject_reason": reject_reason})


class FlowNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(reason="The flow could not be found: it does not exist or was already cleaned up.")


class FlowExpired(Gone):
    id = "self_service_flow_expired"
    default_message = "The requested resource is no longer available because it has expired or is otherwise invalid."

    def __init__(self, *, use_flow_id: str | None, expired_at: str, since_ns: int,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(reason="The self-service flow expired, please start a new one.", details=details)
        extra: dict[str, Any] = {"expired_at": expired_at, "since": since_ns}
        if use_flow_id:
            extra["use_flow_id"] = use_flow_id
        self.extra = extra
