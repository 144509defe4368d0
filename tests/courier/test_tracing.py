"""Each delivery attempt is a span, with the store statements it runs beneath it, exported over OTLP/HTTP to a
real receiver; the e-mail goes through a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable

from gatekeeper.config import Config
from gatekeeper.identity.courier import Courier
from gatekeeper.observe import Metrics
from gatekeeper.observe.otel import OtelTracer
from gatekeeper.server.tracing import build_tracer, observe_queries
from gatekeeper.store import Store
from tests.courier.conftest import VERIFY, running, settled
from tests.support.otlp import CLIENT, Receiver
from tests.support.otlp import receiver as receiver  # noqa: F401  (fixture)
from tests.support.smtp import FAST_WORKER, SmtpSink


async def test_a_delivery_is_a_span_with_its_store_statements_beneath_it(
        store: Store, sink: SmtpSink, make_config: Callable[..., Config], receiver: tuple[Receiver, str]) -> None:
    spans, server_url = receiver
    config = make_config({
        "courier": {"smtp": {"connection_uri": sink.uri(query="disable_starttls=true")}, "worker": FAST_WORKER},
        "tracing": {"provider": "otel", "providers": {"otlp": {"server_url": server_url, "insecure": True}}}})
    tracer = build_tracer(config, OtelTracer)
    observe_queries(store, Metrics(), tracer)
    courier = Courier(config, store, tracer=tracer)
    async with running(courier):
        queued = await courier.enqueue_email("ada@example.com", "verification_code_valid", VERIFY)
        await sink.wait_for(1)
        await settled(store, queued.id, "sent")
    await tracer.stop()

    (delivery,) = [s for s in spans.spans if s.name == "courier.deliver"]
    assert delivery.parent_id == "" and delivery.status == 0
    assert delivery.attributes["gatekeeper.courier.message_id"] == queued.id
    assert delivery.attributes["gatekeeper.courier.template_type"] == "verification_code_valid"
    assert delivery.attributes["gatekeeper.courier.attempt"] == 1
    assert delivery.attributes["server.address"] == f"127.0.0.1:{sink.port}"
    beneath = [s for s in spans.trace(delivery.trace_id) if s.parent_id == delivery.span_id]
    assert any(s.name == "UPDATE courier_messages" and s.kind == CLIENT for s in beneath)
    # polling the outbox and queueing happen outside any trace: no span per statement
    assert {s.trace_id for s in spans.spans} == {delivery.trace_id}
