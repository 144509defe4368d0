"""Messages go through a real SMTP server and are read back as a mail client would see them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

import pytest
from ory_kratos_client.models.message import Message
from prometheus_client import CollectorRegistry

from gatekeeper.config import Config
from gatekeeper.errors import BadRequest
from gatekeeper.identity.courier import Courier, message_json
from gatekeeper.store import Store
from gatekeeper.store.courier import CourierMessage
from tests.courier.conftest import VERIFY, eventually, running, settled
from tests.support.smtp import SmtpSink, server_tls


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


async def test_starttls_with_skip_ssl_verify_encrypts_the_session(
        store: Store, certificate: tuple, courier_config: Callable[..., Config]) -> None:
    server = await SmtpSink(tls=server_tls(certificate), require_starttls=True).start()
    try:
        courier = Courier(courier_config(server.uri(query="skip_ssl_verify=true")), store)
        async with running(courier):
            await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "424242"})
            (mail,) = await server.wait_for(1)
    finally:
        await server.stop()
    assert mail.tls
    assert mail.message["Subject"] == "Use code 424242 to log in"


async def test_smtp_without_starttls_on_offer_fails_closed(
        store: Store, sink: SmtpSink, courier_config: Callable[..., Config]) -> None:
    """smtp:// requires STARTTLS (Kratos): a server that does not offer it never sees the message."""
    courier = Courier(courier_config(sink.uri(user="mailer", password="pw")), store)
    async with running(courier):
        queued = await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "424242"})
        failed = await attempted(store, queued.id, 1)
    assert sink.received == []
    assert failed.status in ("queued", "processing")
    assert "STARTTLS" in failed.dispatches[-1].error["message"]


async def test_implicit_tls_with_skip_ssl_verify(
        store: Store, certificate: tuple, courier_config: Callable[..., Config]) -> None:
    server = await SmtpSink(tls=server_tls(certificate), implicit_tls=True).start()
    try:
        courier = Courier(courier_config(server.uri("smtps", query="skip_ssl_verify=true")), store)
        async with running(courier):
            await courier.enqueue_email("ada@example.com", "recovery_code_valid", {"recovery_code": "777888"})
            (mail,) = await server.wait_for(1)
    finally:
        await server.stop()
    assert mail.tls
    assert "777888" in mail.part("text/plain")


async def test_an_untrusted_certificate_is_refused_without_skip_ssl_verify(
        store: Store, certificate: tuple, courier_config: Callable[..., Config]) -> None:
    server = await SmtpSink(tls=server_tls(certificate), implicit_tls=True).start()
    try:
        courier = Courier(courier_config(server.uri("smtps")), store)
        async with running(courier):
            queued = await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
            failed = await attempted(store, queued.id, 1)
    finally:
        await server.stop()
    assert server.received == []
    assert "certificate verify failed" in failed.dispatches[-1].error["message"].lower()


async def test_auth_over_starttls(store: Store, certificate: tuple, courier_config: Callable[..., Config]) -> None:
    server = await SmtpSink(tls=server_tls(certificate), credentials=("mailer", "s3cr3t pass")).start()
    try:
        uri = server.uri(user="mailer", password=quote("s3cr3t pass"), query="skip_ssl_verify=true")
        courier = Courier(courier_config(uri), store)
        async with running(courier):
            await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
            (mail,) = await server.wait_for(1)
    finally:
        await server.stop()
    assert mail.login == "mailer" and mail.tls


async def test_wrong_smtp_password_is_retried_and_never_logged(
        store: Store, certificate: tuple, courier_config: Callable[..., Config],
        caplog: pytest.LogCaptureFixture) -> None:
    password = "hunter2-never-in-logs"
    server = await SmtpSink(tls=server_tls(certificate), credentials=("mailer", "right")).start()
    caplog.set_level(logging.DEBUG)
    try:
        config = courier_config(server.uri(user="mailer", password=password, query="skip_ssl_verify=true"), dev=True)
        courier = Courier(config, store)
        async with running(courier):
            queued = await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
            failed = await attempted(store, queued.id, 2)
    finally:
        await server.stop()
    assert server.received == []
    assert failed.status != "abandoned"  # an AUTH failure is fixable: the message waits for the next attempt
    assert "535" in failed.dispatches[-1].error["message"]
    assert caplog.records, "the worker logs its attempts"
    for record in caplog.records:
        assert password not in record.getMessage() and password not in repr(vars(record))
    assert password not in repr(config) and password not in repr(failed)


async def test_smtp_server_outage_loses_nothing(
        store: Store, sink: SmtpSink, courier_config: Callable[..., Config]) -> None:
    """Messages queued while the server is down are retried with backoff and delivered once it is back."""
    courier = Courier(courier_config(sink.uri(query="disable_starttls=true"), message_retries=50), store)
    async with running(courier):
        before = [await courier.enqueue_email(f"before{i}@example.com", "login_code_valid", {"login_code": str(i)})
                  for i in range(3)]
        await sink.wait_for(3)
        await sink.stop()
        during = [await courier.enqueue_email(f"during{i}@example.com", "login_code_valid", {"login_code": str(i)})
                  for i in range(4)]
        for message in during:
            await attempted(store, message.id, 3)
        await sink.start()  # same port
        await sink.wait_for(7)
        delivered = [await settled(store, m.id, "sent") for m in during]
    assert sorted(r.rcpt_tos[0] for r in sink.received) == sorted(m.recipient for m in before + during)
    for message in delivered:
        attempts = sorted(message.dispatches, key=lambda d: d.created_at)
        assert [d.status for d in attempts][-1] == "success"
        assert all(d.status == "failed" for d in attempts[:-1]) and len(attempts) >= 4
        assert message.send_count == len(attempts)
        # the worker waited at least the (jittered) backoff before each retry: 50 ms, 100 ms, 200 ms...
        for k, (first, then) in enumerate(zip(attempts, attempts[1:], strict=False), start=1):
            assert (then.created_at - first.created_at).total_seconds() >= 0.75 * min(0.05 * 2 ** (k - 1), 0.2)


async def test_abandoned_after_message_retries(
        store: Store, sink: SmtpSink, courier_config: Callable[..., Config]) -> None:
    await sink.stop()  # nothing listens on its port
    courier = Courier(courier_config(sink.uri(query="disable_starttls=true"), message_retries=2), store)
    async with running(courier):
        queued = await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
        abandoned = await settled(store, queued.id, "abandoned")
        await sink.start()
        await courier.worker.dispatch_batch()
    assert abandoned.send_count == 3  # the first attempt and two retries
    assert [d.status for d in abandoned.dispatches] == ["failed"] * 3
    assert sink.received == []
    assert (await store.courier_message(queued.id)).status == "abandoned"


async def test_a_recipient_refused_with_5xx_is_abandoned_and_the_rest_delivered(
        store: Store, courier_config: Callable[..., Config]) -> None:
    server = await SmtpSink(refuse={"nobody@example.com": "550 5.1.1 No such user"}).start()
    try:
        courier = Courier(courier_config(server.uri(query="disable_starttls=true")), store)
        async with running(courier):
            refused = await courier.enqueue_email("nobody@example.com", "login_code_valid", {"login_code": "1"})
            fine = await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "2"})
            gone = await settled(store, refused.id, "abandoned")
            await settled(store, fine.id, "sent")
    finally:
        await server.stop()
    assert gone.send_count == 1 and gone.dispatches[0].error["smtp_code"] == 550
    assert [r.rcpt_tos for r in server.received] == [["ada@example.com"]]


async def test_dev_mode_without_smtp_logs_the_message_instead(
        store: Store, courier_config: Callable[..., Config], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gatekeeper.courier")
    courier = Courier(courier_config(None, dev=True), store)
    async with running(courier):
        queued = await courier.enqueue_email("ada@example.com", "verification_code_valid", VERIFY)
        logged = await settled(store, queued.id, "sent")
    (record,) = [r for r in caplog.records if getattr(r, "recipient", None) == "ada@example.com"]
    assert record.subject == "Use code 123456 to verify your account"
    assert "123456" in record.body
    assert [d.status for d in logged.dispatches] == ["success"]


async def test_without_smtp_outside_dev_messages_wait_in_the_queue(
        store: Store, courier_config: Callable[..., Config], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gatekeeper.courier")
    courier = Courier(courier_config(None), store)
    async with running(courier):
        queued = await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
        assert await courier.worker.dispatch_batch() == 0
    assert (await store.courier_message(queued.id)).status == "queued"
    assert any("connection_uri is not set" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("recipient", [
    pytest.param("not-an-address", id="no @"),
    pytest.param("Ada <ada@example.com>", id="display name"),
    pytest.param("ada@example.com\r\nBcc: eve@example.com", id="header injection"),
    pytest.param("ada@example.com, eve@example.com", id="two recipients"),
])
async def test_a_bad_recipient_is_refused_before_it_reaches_the_outbox(
        store: Store, courier_config: Callable[..., Config], recipient: str) -> None:
    courier = Courier(courier_config(None), store)
    with pytest.raises(BadRequest):
        await courier.enqueue_email(recipient, "login_code_valid", {"login_code": "1"})
    assert await store.courier_messages() == []


async def attempted(store: Store, message_id: str, attempts: int) -> CourierMessage:
    """The message once at least `attempts` delivery attempts have been recorded."""
    found: list[CourierMessage] = []

    async def check() -> bool:
        message = await store.courier_message(message_id)
        assert message is not None
        found[:] = [message]
        return len(message.dispatches) >= attempts

    await eventually(check)
    return found[0]


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
async def test_server_name_is_the_name_presented_in_tls(
        store: Store, certificate: tuple, courier_config: Callable[..., Config], scheme: str) -> None:
    """`?server_name=` names the server in TLS (SNI) while the connection goes to the URI's host."""
    tls, names = server_tls(certificate), []
    tls.sni_callback = lambda sock, name, context: names.append(name)
    server = await SmtpSink(tls=tls, implicit_tls=scheme == "smtps", require_starttls=scheme == "smtp").start()
    try:
        uri = server.uri(scheme, query="skip_ssl_verify=true&server_name=mail.example.test")
        courier = Courier(courier_config(uri), store)
        async with running(courier):
            await courier.enqueue_email("ada@example.com", "login_code_valid", {"login_code": "1"})
            (mail,) = await server.wait_for(1)
    finally:
        await server.stop()
    assert mail.tls and names == ["mail.example.test"]


async def test_the_backlog_is_reported_for_alerting_even_without_smtp(
        store: Store, courier_config: Callable[..., Config]) -> None:
    registry = CollectorRegistry()
    courier = Courier(courier_config(None), store, registry=registry)
    for i in range(2):
        await courier.enqueue_email(f"u{i}@example.com", "login_code_valid", {"login_code": "1"})

    async def reported() -> bool:
        return registry.get_sample_value("gatekeeper_courier_backlog_messages", {"status": "queued"}) == 2

    async with running(courier):
        await eventually(reported)
    assert registry.get_sample_value("gatekeeper_courier_backlog_messages", {"status": "processing"}) == 0
    assert registry.get_sample_value("gatekeeper_courier_oldest_waiting_seconds") > 0
