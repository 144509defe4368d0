"""The courier: e-mails rendered from Kratos' templates into an outbox in the store, delivered over SMTP.

Flows call `courier.enqueue_email(recipient, template_type, template_data)`; the worker (a service the
server starts) delivers; `gatekeeper courier watch` runs only the worker.
"""

from __future__ import annotations

from gatekeeper.identity.courier.message import message_json
from gatekeeper.identity.courier.models import TemplateType
from gatekeeper.identity.courier.service import Courier, is_email_address
from gatekeeper.identity.courier.worker import CourierWorker

__all__ = ["Courier", "CourierWorker", "TemplateType", "is_email_address", "message_json"]
