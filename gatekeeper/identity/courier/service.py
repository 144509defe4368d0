"""The courier service: render a template into the outbox now, deliver it later (worker.py)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from gatekeeper.config.courier import parse_smtp_uri
from gatekeeper.errors import BadRequest, GatekeeperError
from gatekeeper.gotemplate import TemplateError
from gatekeeper.identity.courier.http_channel import HttpChannel
from gatekeeper.identity.courier.models import REQUIRED, TemplateType
from gatekeeper.identity.courier.smtp import SmtpTransport
from gatekeeper.identity.courier.templates import SMS_KINDS, RenderedEmail, templates_for
from gatekeeper.identity.courier.worker import CourierWorker
from gatekeeper.identity.phones import e164
from gatekeeper.observe.tracing import NoTracer, Tracer
from gatekeeper.store.courier import CourierMessage

if TYPE_CHECKING:
    from gatekeeper.config import Config
    from gatekeeper.store import Store

log = logging.getLogger("gatekeeper.courier")

_ADDRESS = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+\.[^\s@<>()\[\],;:\"\\]+$")


class CourierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Counter("gatekeeper_courier_messages_total",
                                "Courier outbox events: queued, sent, failed (will retry), abandoned",
                                ["event", "template_type"], registry=registry)
        self.backlog = Gauge("gatekeeper_courier_backlog_messages",
                             "Messages waiting in the outbox (all replicas), by status", ["status"], registry=registry,
                             multiprocess_mode="livemax")
        self.oldest = Gauge("gatekeeper_courier_oldest_waiting_seconds",
                            "Age of the oldest queued or processing message (0 when none): alert on it",
                            registry=registry, multiprocess_mode="livemax")

    async def observe_backlog(self, store: Store) -> None:
        backlog = await store.courier_backlog()
        now = datetime.now(UTC)
        for status, (count, _) in backlog.items():
            self.backlog.labels(status).set(count)
        oldest = [created for _, created in backlog.values() if created is not None]
        self.oldest.set(max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0)


class Courier:
    """Queues e-mails (`enqueue_email`) and owns the worker that delivers them."""

    def __init__(self, config: Config, store: Store, *, registry: CollectorRegistry | None = None,
                 ready: asyncio.Event | None = None, tracer: Tracer | None = None) -> None:
        """`tracer`: a span per delivery attempt (none when not given)."""
        self.config = config.courier
        self.tracer: Tracer = tracer or NoTracer()
        self.dev = config.dev
        self.store = store
        self.templates = templates_for(config)
        uri = self.config.smtp.connection_uri
        self.transport = SmtpTransport(self.config.smtp, parse_smtp_uri(uri.value)) if uri and uri.value else None
        self.channels = {c.id: HttpChannel.compile(c, f"courier.channels.{i}")
                         for i, c in enumerate(self.config.channels)}
        self.metrics = CourierMetrics(registry or CollectorRegistry())
        self.worker = CourierWorker(self, ready=ready)

    async def enqueue_email(self, recipient: str, template_type: str | TemplateType,
                            template_data: Mapping[str, Any]) -> CourierMessage:
        """Render `template_type` with `template_data` (Kratos' template_data keys) and queue it for `recipient`.

        Raises BadRequest for an address that is not a single plain e-mail address.
        """
        if not is_email_address(recipient):
            raise BadRequest("The e-mail recipient is not a valid e-mail address",
                             reason="courier: email recipient is not a valid email address")
        kind = TemplateType(template_type)
        missing = [key for key in REQUIRED.get(kind, ()) if not template_data.get(key)]
        if missing:
            raise ValueError(f"template {kind.value} needs template_data {', '.join(missing)}")
        return await self._queue(kind, recipient, template_data, "email")

    async def enqueue_sms(self, recipient: str, template_type: str | TemplateType,
                          template_data: Mapping[str, Any]) -> CourierMessage:
        """Render the SMS of `template_type` and queue it for the `sms` channel; BadRequest for a recipient that is
        not a phone number in E.164."""
        kind = TemplateType(template_type)
        if kind not in SMS_KINDS:
            raise BadRequest("This message cannot be sent by SMS", reason=f"courier: {kind.value} has no SMS template")
        if e164(recipient) != recipient:
            raise BadRequest("The SMS recipient is not a phone number", reason="courier: sms recipient is not E.164")
        return await self._queue(kind, recipient, template_data, "sms")

    async def _queue(self, kind: TemplateType, recipient: str, template_data: Mapping[str, Any],
                     channel: str) -> CourierMessage:
        """Render `kind` for `channel` (`email` or `sms`) and put it in the outbox."""
        data = {**template_data, "to": recipient}
        try:
            rendered = self.templates.render(kind, data) if channel == "email" else \
                RenderedEmail(subject="", body=self.templates.render_sms(kind, data), body_html="")
        except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:  # operator templates
            log.error("courier template failed", extra={"template_type": kind.value, "error": str(exc)})
            what = "e-mail" if channel == "email" else "SMS"
            raise GatekeeperError(reason=f"the {kind.value} {what} template failed to render") from None
        message = await self.store.add_courier_message(
            recipient=recipient, subject=rendered.subject, body=rendered.body, body_html=rendered.body_html,
            template_type=kind.value, template_data=data, type=channel, channel=channel)
        self.metrics.messages.labels("queued", kind.value).inc()
        log.info("courier message queued", extra={"message_id": message.id, "template_type": kind.value,
                                                   "channel": channel})
        self.worker.wake()
        return message

    async def enqueue(self, via: str, recipient: str, template_type: str | TemplateType,
                      template_data: Mapping[str, Any]) -> CourierMessage:
        """Queue for an address of channel `via` (`email` or `sms`)."""
        if via == "sms":
            return await self.enqueue_sms(recipient, template_type, template_data)
        return await self.enqueue_email(recipient, template_type, template_data)

    async def message(self, message_id: str) -> CourierMessage | None:
        """One outbox message with its dispatches."""
        return await self.store.courier_message(message_id)


def is_email_address(value: str) -> bool:
    """A single bare address (`a@b.example`): no display name, no header injection, at most 254 characters."""
    if not isinstance(value, str) or len(value) > 254:
        return False
    name, address = parseaddr(value)
    return not name and address == value and bool(_ADDRESS.match(value))
