"""Messages go through a real SMTP server and are read back as a mail client would see them."""

from __future__ import annotations

from collections.abc import Callable

from ory_kratos_client.models.message import Message

from gatekeeper.config import Config
from gatekeeper.identity.courier import Courier, message_json
from gatekeeper.store import Store
from tests.courier.conftest import VERIFY, running, settled
from tests.courier.sink import SmtpSink


async def test_a_verification_code_arrives_with_subject_sender_and_both_bodies(
        store: Store, sink: SmtpSink, courier_config: Callable[..., Config]) -> None:
    config = courier_config(sink.uri(query="disable_starttls=true"),
                            smtp={"from_address": "accounts@example.org", "from_name": "Example Accounts",
                                  "headers": {"X-Environment": "test"}})
    courier = Courier(config, store)
    async with running(courier):
        queued = await courier.enqueue_email("ada@example.com", "verification_code_valid", VERIFY)
        assert queued.status == "queued"
        (mail,) = await sink.wait_for(1)
        sent = await settled(store, queued.id, "sent")

    message = mail.message
    assert message["Subject"] == "Use code 123456 to verify your account"
    assert message["From"] == "Example Accounts <accounts@example.org>"
    assert message["To"] == "ada@example.com"
    assert message["X-Environment"] == "test"
    assert message["Message-ID"] == f"<{queued.id}@example.org>"
    assert mail.rcpt_tos == ["ada@example.com"] and mail.mail_from == "accounts@example.org"
    text = mail.part("text/plain")
    assert "123456" in text and "https://app.example/verify?code=123456" in text and "60 minutes" in text
    html = mail.part("text/html")
    assert "<strong" in html and "123456" in html
    assert '<a href="https://app.example/verify?code=123456">' in html

    assert sent.send_count == 1
    assert [d.status for d in sent.dispatches] == ["success"]
    body = message_json(sent)
    assert Message.from_dict(body) is not None  # the official SDK reads it as Kratos' courier message
    assert body["status"] == "sent" and body["type"] == "email" and body["template_type"] == "verification_code_valid"
    assert body["recipient"] == "ada@example.com" and body["subject"] == message["Subject"]
    assert body["body"] == sent.body and "123456" in body["body"]
    assert body["dispatches"][0]["status"] == "success" and "error" not in body["dispatches"][0]
