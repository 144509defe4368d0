"""The courier inside `gatekeeper serve`: built by the composition root, worker started with it, metrics on
/metrics."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gatekeeper.config import Config
from gatekeeper.identity.courier import Courier
from tests.courier.conftest import settled
from tests.support.servers import running_gatekeeper
from tests.support.smtp import SmtpSink


async def test_a_running_gatekeeper_delivers_and_counts_messages(
        sink: SmtpSink, courier_config: Callable[..., Config]) -> None:
    async with running_gatekeeper(courier_config(sink.uri(query="disable_starttls=true"))) as gk:
        courier = gk.container.identity.courier
        assert isinstance(courier, Courier) and courier.worker in gk.container.services
        queued = await courier.enqueue_email("ada@example.com", "recovery_code_valid", {"recovery_code": "654321"})
        (mail,) = await sink.wait_for(1)
        await settled(gk.container.store, queued.id, "sent")
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{gk.metrics}/metrics")).text
    assert "654321" in mail.part("text/plain")
    assert 'gatekeeper_courier_messages_total{event="sent",template_type="recovery_code_valid"} 1.0' in metrics


async def test_without_smtp_the_instance_is_ready_and_messages_wait(courier_config: Callable[..., Config]) -> None:
    async with running_gatekeeper(courier_config(None)) as gk:
        queued = await gk.container.identity.courier.enqueue_email("ada@example.com", "login_code_valid",
                                                                  {"login_code": "1"})
        async with httpx.AsyncClient() as client:
            ready = await client.get(f"{gk.public}/health/ready")
        waiting = await gk.container.store.courier_message(queued.id)
    assert ready.status_code == 200
    assert waiting.status == "queued"
