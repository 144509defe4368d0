"""gatekeeper's data-plane HTTP/1.x server: an asyncio protocol on httptools (llhttp), no ASGI in the way.

    server = await serve(handler, sock)          # async def handler(request, responder) -> None
    ...
    await server.drain(timeout=10)

Self-contained: nothing here imports the rest of gatekeeper. `AsgiBridge` (in `gatekeeper.dataplane.asgi`) runs
an ASGI 3 app as a handler.
"""

from gatekeeper.dataplane.errors import (
    BodyError,
    BodyTimeout,
    BodyTooLarge,
    ClientDisconnected,
    ErrorRenderer,
    MalformedBody,
    ResponseError,
    json_error,
)
from gatekeeper.dataplane.limits import Limits
from gatekeeper.dataplane.request import Request
from gatekeeper.dataplane.response import Responder
from gatekeeper.dataplane.server import Handler, Server, serve

__all__ = [
    "BodyError",
    "BodyTimeout",
    "BodyTooLarge",
    "ClientDisconnected",
    "ErrorRenderer",
    "Handler",
    "Limits",
    "MalformedBody",
    "Request",
    "Responder",
    "ResponseError",
    "Server",
    "json_error",
    "serve",
]
