"""Verification through the official SDK and a cookie client, with codes read from a real SMTP server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import BadRequestException

from tests.identity.conftest import answer_to_address, call, frontend, message_ids, register_api
from tests.support.servers import Instance
from tests.support.smtp import SmtpSink, code_in, link_in, mail_to, mailing
from tests.support.smtp import sink as sink  # noqa: F401  (fixture)


def code_update(code: str | None = None, email: str | None = None) -> k.UpdateVerificationFlowBody:
    return k.UpdateVerificationFlowBody(k.UpdateVerificationFlowWithCodeMethod(method="code", code=code, email=email))


async def test_registration_sends_a_code_that_verifies_the_address(dsn: str, sink: SmtpSink) -> None:
    async with mailing(dsn, sink) as gk:
        api = frontend(gk)
        flow = await call(api.create_native_registration_flow)
        done = await call(api.update_registration_flow, flow.id, k.UpdateRegistrationFlowBody(
            k.UpdateRegistrationFlowWithPasswordMethod(method="password", password="correct-horse-battery-staple-42",
                                                       traits={"email": "Ada@Example.com"})))
        shown = next(c.actual_instance for c in done.continue_with
                     if c.actual_instance.action == "show_verification_ui")
        assert shown.flow.verifiable_address == "ada@example.com"
        session = await call(api.to_session, x_session_token=done.session_token)
        assert session.identity.verifiable_addresses[0].verified is False
        assert session.identity.verifiable_addresses[0].status == "pending"

        mail = (await mail_to(sink, "ada@example.com"))[0]
        assert mail.message["Subject"].startswith("Use code")
        vflow = await call(api.get_verification_flow, shown.flow.id)
        assert vflow.state == "sent_email"
        assert [m.id for m in vflow.ui.messages] == [1080003]
        verified = await call(api.update_verification_flow, vflow.id, code_update(code_in(mail)))
        assert verified.state == "passed_challenge"
        assert [m.id for m in verified.ui.messages] == [1080002]
        assert verified.ui.method == "GET"
        assert verified.ui.nodes[0].attributes.actual_instance.id == "continue"

        address = (await call(api.to_session, x_session_token=done.session_token)).identity.verifiable_addresses[0]
        assert address.verified is True and address.status == "completed" and address.verified_at is not None


async def test_wrong_reused_and_brute_forced_codes(sink: SmtpSink, sqlite_dsn: str) -> None:
    async with mailing(sqlite_dsn, sink) as gk:
        api = frontend(gk)
        flow = await call(api.create_native_verification_flow)
        await call(api.update_verification_flow, flow.id, code_update(email="nobody@example.com"))
        await register_api(gk, "grace@example.com")
        code = code_in((await mail_to(sink, "grace@example.com"))[0])
        flow = await call(api.create_native_verification_flow)
        sent = await call(api.update_verification_flow, flow.id, code_update(email="grace@example.com"))
        assert sent.state == "sent_email"
        fresh = code_in((await mail_to(sink, "grace@example.com", 2))[1])
        wrong = "000000" if fresh != "000000" else "111111"
        with pytest.raises(BadRequestException) as refused:
            await call(api.update_verification_flow, flow.id, code_update(wrong))
        assert message_ids(json.loads(refused.value.body)) == [4070006]
        if code != fresh:  # the registration's code belongs to another flow
            with pytest.raises(BadRequestException):
                await call(api.update_verification_flow, flow.id, code_update(code))
        done = await call(api.update_verification_flow, flow.id, code_update(fresh))
        assert done.state == "passed_challenge"
        with pytest.raises(BadRequestException) as reused:
            await call(api.update_verification_flow, flow.id, code_update(fresh))
        assert message_ids(json.loads(reused.value.body)) == [4070002]

        # five tries per code: the sixth is refused even when right, a new code works again
        flow = await call(api.create_native_verification_flow)
        await call(api.update_verification_flow, flow.id, code_update(email="grace@example.com"))
        right = code_in((await mail_to(sink, "grace@example.com", 3))[2])
        wrong = "000000" if right != "000000" else "111111"
        for _ in range(5):
            with pytest.raises(BadRequestException):
                await call(api.update_verification_flow, flow.id, code_update(wrong))
        with pytest.raises(BadRequestException) as locked:
            await call(api.update_verification_flow, flow.id, code_update(right))
        assert message_ids(json.loads(locked.value.body)) == [4070006]
        await call(api.update_verification_flow, flow.id, code_update(email="grace@example.com"))
        again = code_in((await mail_to(sink, "grace@example.com", 4))[3])
        assert (await call(api.update_verification_flow, flow.id, code_update(again))).state == "passed_challenge"


async def test_expired_code_is_refused(sink: SmtpSink, sqlite_dsn: str) -> None:
    extra = {"selfservice": {"methods": {"code": {"config": {"lifespan": "1s"}}}}}
    async with mailing(sqlite_dsn, sink, extra) as gk:
        api = frontend(gk)
        body = await register_api(gk, "linus@example.com")
        flow_id = body["continue_with"][0]["flow"]["id"]
        code = code_in((await mail_to(sink, "linus@example.com"))[0])
        await asyncio.sleep(1.2)
        with pytest.raises(BadRequestException) as refused:
            await call(api.update_verification_flow, flow_id, code_update(code))
        assert message_ids(json.loads(refused.value.body)) == [4070006]


async def test_unknown_addresses_get_the_same_answer(sink: SmtpSink, sqlite_dsn: str) -> None:
    extra = {"selfservice": {"flows": {"verification": {"notify_unknown_recipients": True}}}}
    async with mailing(sqlite_dsn, sink, extra) as gk:
        await register_api(gk, "known@example.com")
        await mail_to(sink, "known@example.com")
        async with httpx.AsyncClient(base_url=gk.public) as client:
            answers = [await answer_to_address(client, "verification", a) for a in ("known@example.com",
                                                                                    "unknown@example.com")]
        assert answers[0] == answers[1]
        unknown = (await mail_to(sink, "unknown@example.com"))[0]
        assert "unable to find an account" in unknown.part("text/plain")
        assert not any(ch.isdigit() for ch in unknown.message["Subject"])


async def messages_to(gk: Instance, address: str, until: Callable[[list[dict[str, Any]]], bool]) -> \
        list[dict[str, Any]]:
    """The courier's messages to `address` as the admin API shows them (with their dispatches, oldest first),
    once `until` holds for them (it fails after 10 s)."""
    deadline = asyncio.get_running_loop().time() + 10
    async with httpx.AsyncClient(base_url=gk.admin) as admin:
        while True:
            listed = (await admin.get("/admin/courier/messages", params={"recipient": address})).json()
            found = sorted([(await admin.get(f"/admin/courier/messages/{m['id']}")).json() for m in listed],
                           key=lambda m: m["created_at"])
            for message in found:
                message["dispatches"] = sorted(message.get("dispatches", []), key=lambda d: d["created_at"])
            if until(found):
                return found
            assert asyncio.get_running_loop().time() < deadline, found
            await asyncio.sleep(0.05)


def attempts(message: dict[str, Any]) -> list[str]:
    return [d["status"] for d in message["dispatches"]]


async def test_smtp_down_the_flow_still_answers_and_the_code_arrives_later(sink: SmtpSink, sqlite_dsn: str) -> None:
    address = "hopper@example.com"
    async with mailing(sqlite_dsn, sink) as gk:
        await register_api(gk, address)
        await mail_to(sink, address)
        [first] = await messages_to(gk, address, until=lambda found: found[0]["status"] != "processing")
        assert (first["status"], attempts(first)) == ("sent", ["success"])  # delivered before the outage
        await sink.stop()
        api = frontend(gk)
        flow = await call(api.create_native_verification_flow)
        sent = await call(api.update_verification_flow, flow.id, code_update(email=address))
        assert sent.state == "sent_email"
        # the courier fails and retries meanwhile: two failed attempts, and the message is still to be sent
        found = await messages_to(gk, address, until=lambda found: len(found) == 2 and len(found[1]["dispatches"]) >= 2)
        pending = found[1]
        assert attempts(pending)[:2] == ["failed", "failed"] and pending["status"] in ("queued", "processing")
        assert all((d.get("error") or {}).get("reason") for d in pending["dispatches"]), pending  # why, for operators
        await sink.start()
        fresh = code_in((await mail_to(sink, address, 2))[-1])  # delivered after the outage
        assert (await call(api.update_verification_flow, flow.id, code_update(fresh))).state == "passed_challenge"
        delivered = (await messages_to(gk, address, until=lambda found: found[1]["status"] != "processing"))[1]
        tries = attempts(delivered)
        assert delivered["status"] == "sent" and delivered["send_count"] == len(tries) >= 3, delivered
        assert tries == ["failed"] * (len(tries) - 1) + ["success"]


async def test_browser_flow_with_the_link_method(sink: SmtpSink, sqlite_dsn: str) -> None:
    extra = {"selfservice": {"methods": {"link": {"enabled": True}},
                             "flows": {"verification": {"use": "link"}}}}
    async with mailing(sqlite_dsn, sink, extra) as gk:
        await register_api(gk, "alan@example.com")
        first = (await mail_to(sink, "alan@example.com"))[0]
        assert first.message["Subject"] == "Please verify your email address"
        async with httpx.AsyncClient(base_url=gk.public, headers={"Accept": "application/json"}) as browser:
            flow = (await browser.get("/self-service/verification/browser")).json()
            assert [n["attributes"]["name"] for n in flow["ui"]["nodes"]] == ["csrf_token", "email", "method"]
            csrf = flow["ui"]["nodes"][0]["attributes"]["value"]
            sent = await browser.post(f"/self-service/verification?flow={flow['id']}",
                                      json={"method": "link", "email": "alan@example.com", "csrf_token": csrf})
            assert sent.status_code == 200 and message_ids(sent.json()) == [1080001]
            link = link_in((await mail_to(sink, "alan@example.com", 2))[1])
            opened = await browser.get(link.replace(gk.public, ""), headers={"Accept": "text/html"})
            assert opened.status_code == 303
            assert opened.headers["location"].startswith(f"{gk.public}/ui/verification?flow={flow['id']}")
            done = (await browser.get(f"/self-service/verification/flows?id={flow['id']}")).json()
            assert done["state"] == "passed_challenge" and message_ids(done) == [1080002]
            again = await browser.get(link.replace(gk.public, ""), headers={"Accept": "text/html"})
            assert again.status_code == 303  # a used link shows the (completed) flow, it verifies nothing twice


async def test_disabled_verification_is_refused(sqlite_dsn: str, sink: SmtpSink) -> None:
    extra = {"selfservice": {"flows": {"verification": {"enabled": False}}}}
    async with mailing(sqlite_dsn, sink, extra) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        answer = await client.get("/self-service/verification/api")
        assert answer.status_code == 400
        assert "disabled" in answer.json()["error"]["reason"]


async def test_bad_input_gets_clear_4xx(sink: SmtpSink, sqlite_dsn: str) -> None:
    async with mailing(sqlite_dsn, sink) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        flow = (await client.get("/self-service/verification/api")).json()
        submit = f"/self-service/verification?flow={flow['id']}"
        cases: list[tuple[str, Any, int]] = [
            ("/self-service/verification?flow=nope", {"method": "code", "email": "a@example.com"}, 404),
            (submit, {"method": "code"}, 400),  # neither code nor email
            (submit, {"method": "code", "email": ["a@example.com"]}, 400),
            (submit, {"method": "code", "code": 123456}, 400),  # not a string: asks for the e-mail
            (submit, {"method": "sms", "email": "a@example.com"}, 400),
            (submit, {"method": "code", "email": "x" * 5000 + "@example.com"}, 200),  # same answer, no mail
        ]
        for url, body, status in cases:
            answer = await client.post(url, json=body)
            assert answer.status_code == status, (body, answer.text)
            assert "error" in answer.json() or answer.json()["id"] == flow["id"]
        follow = await client.get(f"/self-service/verification?flow={flow['id']}",
                                  headers={"Accept": "application/json"})
        assert follow.status_code == 400 and follow.json()["error"]["reason"] == "The link needs a code or a token."
        foreign = await client.post(submit, json={"method": "code", "code": "123456"},
                                    headers={"Cookie": "a=b"})
        assert foreign.status_code == 400  # an API flow refuses browser requests
        assert not [m for m in sink.received if "x" * 100 in ",".join(m.rcpt_tos)]
