"""A courier channel delivered by calling an HTTP API (Kratos' `courier.channels[]` with `type: http`).

The request is Kratos' request config; its Jsonnet body is called with `ctx`: `recipient`, `subject`, `body`,
`template_type`, `template_data` and `message_type`, as Kratos' http channel. A 2xx answer is a delivery; any
other answer, a timeout or a refused connection is a failed attempt the worker retries with backoff.
"""

from __future__ import annotations

from typing import Any

import httpx

from gatekeeper.config.courier import CourierChannel
from gatekeeper.identity.courier.smtp import DeliveryError
from gatekeeper.identity.jsonnet import JsonnetError
from gatekeeper.identity.outgoing import HttpRequest
from gatekeeper.store.courier import CourierMessage

TIMEOUT = 10.0


class HttpChannel:
    def __init__(self, channel_id: str, request: HttpRequest, timeout: float = TIMEOUT) -> None:
        self.id, self.request, self.timeout = channel_id, request, timeout
        self._reason = f"failed to send {channel_id} via http"

    @classmethod
    def compile(cls, channel: CourierChannel, where: str) -> HttpChannel:
        rc = channel.request_config
        config = {"url": rc.url, "method": rc.method, "headers": rc.headers, "body": rc.body, "auth": rc.auth}
        return cls(channel.id, HttpRequest(**HttpRequest.options(config, f"{where}.request_config",
                                                                 "courier channel")))

    @staticmethod
    def context(message: CourierMessage) -> dict[str, Any]:
        return {"recipient": message.recipient, "subject": message.subject, "body": message.body,
                "template_type": message.template_type, "template_data": message.template_data,
                "message_type": message.type}

    async def send(self, message: CourierMessage) -> None:
        """One attempt; DeliveryError when it did not succeed."""
        try:
            body = await self.request.render(self.context(message))
        except JsonnetError as exc:  # the operator's template: every attempt would fail the same way
            raise DeliveryError(f"the request body template failed: {str(exc)[:300]}", permanent=True,
                                reason=self._reason) from None
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.request(self.request.method, self.request.url, content=body,
                                                **self.request.request_kwargs())
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.request.url}: {type(exc).__name__}", reason=self._reason) from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"{self.request.url} answered {response.status_code}: {response.text[:200]}",
                                code=response.status_code, reason=self._reason)
