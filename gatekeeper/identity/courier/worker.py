"""The delivery worker: claims due messages, sends them, records every attempt, backs off on failure.

Runs inside `gatekeeper serve` (a service the server starts) and in `gatekeeper courier watch`. It polls every
`courier.worker.pull_wait` and is woken at once by `enqueue_email` in the same process. Each attempt
counts in `send_count`; a failure sends the message back to the queue after an exponential backoff
(`retry_backoff` doubled per attempt, at most `retry_backoff_max`) until `message_retries` retries
have failed, then it is abandoned. A 5xx answer about the message itself abandons it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from gatekeeper.errors import GatekeeperError
from gatekeeper.identity.courier.smtp import DeliveryError
from gatekeeper.observe.tracing import Span
from gatekeeper.store.courier import CourierMessage

if TYPE_CHECKING:
    from gatekeeper.identity.courier.service import Courier

log = logging.getLogger("gatekeeper.courier")

STOP_TIMEOUT = 15.0  # seconds a stopping worker may spend finishing the message it is sending
BACKLOG_INTERVAL = 15.0  # seconds between two looks at the outbox's size for the backlog metrics


class CourierWorker:
    """A service (start/stop) that delivers the outbox and reports its backlog (also when it cannot send)."""

    def __init__(self, courier: Courier, *, ready: asyncio.Event | None = None) -> None:
        self.courier = courier
        self.config = courier.config
        self._ready = ready
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def can_deliver(self) -> bool:
        return self.courier.transport is not None or bool(self.courier.channels) or self.courier.dev

    async def start(self) -> None:
        transport = self.courier.transport
        if transport is not None:
            ep = transport.endpoint
            log.info("courier delivers e-mail over SMTP", extra={
                "smtp_server": ep.address, "tls": "implicit" if ep.implicit_tls else
                "starttls" if ep.starttls else "none", "auth": bool(ep.username)})
        elif self.courier.dev:
            log.warning("courier.smtp.connection_uri is not set: --dev logs e-mails instead of sending them")
        else:
            log.warning("courier.smtp.connection_uri is not set: e-mails stay queued until it is")
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="courier-worker")

    async def stop(self) -> None:
        """Finish the message being sent (up to STOP_TIMEOUT), put the rest of the batch back, stop."""
        self._stop.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_TIMEOUT)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def wake(self) -> None:
        """Look at the queue now (a message was just queued)."""
        self._wake.set()

    async def _run(self) -> None:
        if self._ready is not None:
            await self._pause(None, self._ready)
        store_errors, observed = 0, -BACKLOG_INTERVAL
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if time.monotonic() - observed >= BACKLOG_INTERVAL:
                    await self.courier.metrics.observe_backlog(self.courier.store)
                    observed = time.monotonic()
                claimed = await self.dispatch_batch()
                store_errors = 0
            except Exception as exc:  # the store is unreachable (or a bug): keep the worker alive, back off
                store_errors += 1
                log.warning("courier batch failed, retrying", extra={"reason": _reason(exc)})
                await self._pause(min(float(self.config.worker.pull_wait) * 2 ** store_errors, 30.0))
                continue
            if claimed < self.config.worker.pull_count:
                await self._pause(float(self.config.worker.pull_wait), self._wake)

    async def _pause(self, timeout: float | None, *events: asyncio.Event) -> None:
        """Wait until one of `events` is set, `timeout` passes or the worker is stopped."""
        waiters = [asyncio.create_task(e.wait()) for e in (*events, self._stop)]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def dispatch_batch(self) -> int:
        """Claim and attempt one batch; returns how many messages were claimed."""
        if not self.can_deliver:
            return 0
        store = self.courier.store
        token = uuid.uuid4().hex
        lease = float(self.config.worker.claim_lease)
        messages = await store.claim_courier_messages(limit=self.config.worker.pull_count, lease=lease, token=token)
        if not messages:
            return 0
        try:
            await self._deliver(messages, token)
        finally:  # whatever was claimed but not attempted (stopping, store error) goes back to the queue
            with contextlib.suppress(GatekeeperError):
                await store.release_courier_claim(token)
        return len(messages)

    async def _deliver(self, messages: list[CourierMessage], token: str) -> None:
        limit = self.config.message_retries + 1  # attempts: the first one plus the retries
        pending = []
        for message in messages:
            if message.send_count > limit:  # claimed again and again by workers that died
                await self._failed(message, token, DeliveryError(
                    f"abandoned after {message.send_count - 1} claims without a result", permanent=True))
            elif message.channel == "sms":
                await self._send_sms(message, token)
            else:
                pending.append(message)
        transport = self.courier.transport
        if transport is None:
            if self.courier.dev:
                for message in pending:
                    with self._span(message, None):
                        self._log_instead(message)
                        await self._sent(message, token)
            return  # not --dev: e-mails stay queued (the claim is released) until SMTP is configured
        lease, renewed = float(self.config.worker.claim_lease), time.monotonic()
        try:
            async with transport.session() as smtp:
                while pending and not self._stop.is_set():
                    message = pending.pop(0)
                    with self._span(message, transport.endpoint.address) as span:
                        try:
                            await smtp.send(message)
                        except DeliveryError as exc:
                            self.courier.tracer.fail(span, exc.detail)
                            await self._failed(message, token, exc)
                            if exc.connection:
                                raise
                            continue
                        await self._sent(message, token)
                    if pending and time.monotonic() - renewed > lease / 2:  # a slow server: keep the rest ours
                        await self.courier.store.renew_courier_claim(token, lease)
                        renewed = time.monotonic()
        except DeliveryError as exc:  # the server is unreachable or the session broke: the rest fail with it
            if exc.connection:
                for message in pending:
                    await self._failed(message, token, exc)

    def _span(self, message: CourierMessage, server: str | None) -> AbstractContextManager[Span]:
        """The span of one delivery attempt (`server`: the SMTP server; None: the e-mail is logged instead)."""
        attributes: dict[str, str | int] = {
            "gatekeeper.courier.message_id": message.id, "gatekeeper.courier.template_type": message.template_type,
            "gatekeeper.courier.attempt": message.send_count,
            "gatekeeper.courier.delivery": "smtp" if server else "log"}
        if server:
            attributes["server.address"] = server
        return self.courier.tracer.span("courier.deliver", attributes)

    async def _send_sms(self, message: CourierMessage, token: str) -> None:
        channel = self.courier.channels.get("sms")
        if channel is None and self.courier.dev:
            self._log_instead(message)
            await self._sent(message, token)
            return
        try:
            if channel is None:
                raise DeliveryError("no courier channel with id sms is configured", reason="failed to send sms")
            await channel.send(message)
        except DeliveryError as exc:
            await self._failed(message, token, exc)
            return
        await self._sent(message, token)

    async def _sent(self, message: CourierMessage, token: str) -> None:
        held = await self.courier.store.finish_courier_attempt(message.id, token, status="sent", dispatch="success")
        self.courier.metrics.messages.labels("sent", message.template_type).inc()
        log.info("courier message sent", extra={
            "message_id": message.id, "template_type": message.template_type, "attempt": message.send_count,
            **({} if held else {"note": "the claim had expired; another worker may send it again"})})

    async def _failed(self, message: CourierMessage, token: str, exc: DeliveryError) -> None:
        attempts_left = self.config.message_retries + 1 - message.send_count
        abandon = exc.permanent or attempts_left <= 0
        retry_in = None if abandon else self._backoff(message.send_count)
        next_at = None if retry_in is None else datetime.now(UTC) + timedelta(seconds=retry_in)
        await self.courier.store.finish_courier_attempt(
            message.id, token, status="abandoned" if abandon else "queued", dispatch="failed",
            error=exc.as_json(), next_attempt_at=next_at)
        event = "abandoned" if abandon else "failed"
        self.courier.metrics.messages.labels(event, message.template_type).inc()
        extra = {"message_id": message.id, "template_type": message.template_type, "attempt": message.send_count,
                 "error": exc.detail}
        if abandon:
            log.error("courier abandoned a message", extra=extra)
        else:
            log.warning("courier could not deliver a message, will retry",
                        extra={**extra, "retry_in_s": round(retry_in or 0, 3)})

    def _backoff(self, attempt: int) -> float:
        worker = self.config.worker
        delay = min(float(worker.retry_backoff) * 2 ** (attempt - 1), float(worker.retry_backoff_max))
        return float(delay * (0.75 + random.random() / 4))  # jitter keeps replicas from retrying in lockstep

    def _log_instead(self, message: CourierMessage) -> None:
        log.info("courier (--dev, no SMTP or sms channel configured): message logged instead of sent", extra={
            "message_id": message.id, "template_type": message.template_type, "recipient": message.recipient,
            "subject": message.subject, "body": message.body})


def _reason(exc: Exception) -> str:
    if isinstance(exc, GatekeeperError):
        return exc.reason or exc.message
    return f"{type(exc).__name__}: {exc}"[:300]
