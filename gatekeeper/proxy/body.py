"""The request body as the access handlers see it: read once, when a remote authorizer asks for it."""

from __future__ import annotations

from gatekeeper.dataplane import BodyError, BodyTooLarge, Request
from gatekeeper.errors import BadRequest, PayloadTooLarge

MAX_BUFFERED_BODY = 8 * 1024 * 1024


class RequestBody:
    """The request body, read once when a handler needs it (a remote authorizer); the upstream gets it replayed."""

    __slots__ = ("request", "data")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.data: bytes | None = None

    async def __call__(self) -> bytes:
        if self.data is None:
            try:
                self.data = await self.request.read_body(MAX_BUFFERED_BODY)
            except BodyTooLarge:
                raise PayloadTooLarge(reason="the request body is too large to be authorized") from None
            except BodyError as exc:
                raise BadRequest(reason=f"the request body could not be read: {exc}") from None
        return self.data
