"""Framework-free ASGI names shared by the ASGI adapters (http/) and the data plane's bridge to them (proxy/):
the ASGI types, the scope keys that name a request's route and add to its log line, and the route label."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOGGED = "gatekeeper_logged"  # attribute set on an exception once it has been logged with its traceback
ROUTE_KEY = "gatekeeper.route"  # scope key an inner app sets to name the route (e.g. the rule id)
LOG_KEY = "gatekeeper.log"  # scope key an inner app sets to add fields to the request's log line
UNMATCHED = "<unmatched>"


def route_label(scope: Scope) -> str:
    """A bounded label for the request's route: set by the inner app, or Starlette's route template."""
    label = scope.get(ROUTE_KEY)
    if label:
        return str(label)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED
