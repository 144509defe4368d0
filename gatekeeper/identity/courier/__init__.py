"""The courier: e-mails rendered from Kratos' templates into an outbox in the store, delivered over SMTP.

Flows call `app.extensions["courier"].enqueue_email(recipient, template_type, template_data)`;
the worker (an App service) delivers; `gatekeeper courier watch` runs only the worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gatekeeper.identity.courier.message import message_json
from gatekeeper.identity.courier.service import Courier, is_email_address
from gatekeeper.identity.courier.templates import TemplateType
from gatekeeper.identity.courier.worker import CourierWorker

if TYPE_CHECKING:
    from gatekeeper.app import App

__all__ = ["Courier", "CourierWorker", "TemplateType", "is_email_address", "message_json", "setup_courier"]


async def setup_courier(app: App) -> Courier:
    """Build the courier, publish it as `app.extensions["courier"]` and run its worker as an App service.

    Idempotent: a second call returns the courier already set up.
    """
    if isinstance(existing := app.extensions.get("courier"), Courier):
        return existing
    courier = Courier(app.config, app.store, registry=app.metrics.registry, ready=app.store_connected)
    app.extensions["courier"] = courier
    app.services.append(courier.worker)
    return courier
