"""Recovery through the official SDK and a cookie client, with codes read from a real SMTP server."""

from __future__ import annotations

import asyncio
import json

import httpx
import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import BadRequestException

from tests.identity.conftest import answer_to_address, call, frontend, message_ids, register_api
from tests.support.smtp import SmtpSink, code_in, link_in, mail_to, mailing
from tests.support.smtp import sink as sink  # noqa: F401  (fixture)


def code_update(code: str | None = None, email: str | None = None) -> k.UpdateRecoveryFlowBody:
    return k.UpdateRecoveryFlowBody(k.UpdateRecoveryFlowWithCodeMethod(method="code", code=code, email=email))


async def test_native_recovery_signs_in_and_continues_with_settings(dsn: str, sink: SmtpSink) -> None:
    async with mailing(dsn, sink) as gk:
        first = await register_api(gk, "ada@example.com")
        await mail_to(sink, "ada@example.com")  # the verification code
        api = frontend(gk)
        flow = await call(api.create_native_recovery_flow)
        assert flow.state == "choose_method"
        sent = await call(api.update_recovery_flow, flow.id, code_update(email="ADA@example.com"))
        assert sent.state == "sent_email"
        assert [m.id for m in sent.ui.messages] == [1060003]
        mail = (await mail_to(sink, "ada@example.com", 2))[1]
        assert "recover access" in mail.message["Subject"]
        done = await call(api.update_recovery_flow, flow.id, code_update(code_in(mail)))
        assert done.state == "passed_challenge"
        actions = [c.actual_instance.action for c in done.continue_with]
        assert actions == ["set_ory_session_token", "show_settings_ui"]
        token = done.continue_with[0].actual_instance.ory_session_token
        session = await call(api.to_session, x_session_token=token)
        assert session.identity.id == first["identity"]["id"]
        assert session.authentication_methods[0].method == "code_recovery"
        settings = await call(api.get_settings_flow, done.continue_with[1].actual_instance.flow.id,
                              x_session_token=token)
        assert 1060001 in [m.id for m in settings.ui.messages]
        # the code reached the address: it counts as verified
        assert session.identity.verifiable_addresses[0].verified is True


async def test_unknown_address_same_answer_and_optional_notice(sink: SmtpSink, sqlite_dsn: str) -> None:
    extra = {"selfservice": {"flows": {"recovery": {"notify_unknown_recipients": True}}}}
    async with mailing(sqlite_dsn, sink, extra) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        await register_api(gk, "known@example.com")
        await mail_to(sink, "known@example.com")
        answers = [await answer_to_address(client, "recovery", a) for a in ("known@example.com",
                                                                            "stranger@example.com")]
        assert answers[0] == answers[1]
        notice = (await mail_to(sink, "stranger@example.com"))[0]
        assert notice.message["Subject"] == "Account access attempted"
        assert "not on our database" in notice.part("text/plain")


async def test_wrong_and_reused_codes_and_brute_force(sink: SmtpSink, sqlite_dsn: str) -> None:
    async with mailing(sqlite_dsn, sink) as gk:
        await register_api(gk, "grace@example.com")
        await mail_to(sink, "grace@example.com")
        api = frontend(gk)
        flow = await call(api.create_native_recovery_flow)
        await call(api.update_recovery_flow, flow.id, code_update(email="grace@example.com"))
        right = code_in((await mail_to(sink, "grace@example.com", 2))[1])
        wrong = "000000" if right != "000000" else "111111"
        for _ in range(5):
            with pytest.raises(BadRequestException) as refused:
                await call(api.update_recovery_flow, flow.id, code_update(wrong))
            assert message_ids(json.loads(refused.value.body)) == [4060006]
        with pytest.raises(BadRequestException):  # tried too often: even the right code is void now
            await call(api.update_recovery_flow, flow.id, code_update(right))
        await call(api.update_recovery_flow, flow.id, code_update(email="grace@example.com"))
        fresh = code_in((await mail_to(sink, "grace@example.com", 3))[2])
        done = await call(api.update_recovery_flow, flow.id, code_update(fresh))
        assert done.state == "passed_challenge"
        with pytest.raises(BadRequestException) as reused:
            await call(api.update_recovery_flow, flow.id, code_update(fresh))
        assert message_ids(json.loads(reused.value.body)) == [4060001]


async def test_browser_recovery_sets_the_session_cookie_and_lands_on_settings(sink: SmtpSink,
                                                                              sqlite_dsn: str) -> None:
    async with mailing(sqlite_dsn, sink) as gk:
        await register_api(gk, "linus@example.com")
        await mail_to(sink, "linus@example.com")
        async with httpx.AsyncClient(base_url=gk.public) as browser:
            init = await browser.get("/self-service/recovery/browser")
            assert init.status_code == 303 and init.headers["location"].startswith(f"{gk.public}/ui/recovery?flow=")
            flow_id = init.headers["location"].split("flow=")[1]
            page = await browser.get(f"/ui/recovery?flow={flow_id}")
            assert page.status_code == 200 and 'name="email"' in page.text
            flow = (await browser.get(f"/self-service/recovery/flows?id={flow_id}")).json()
            csrf = flow["ui"]["nodes"][0]["attributes"]["value"]
            sent = await browser.post(f"/self-service/recovery?flow={flow_id}",
                                      data={"csrf_token": csrf, "method": "code", "email": "linus@example.com"})
            assert sent.status_code == 303
            code = code_in((await mail_to(sink, "linus@example.com", 2))[1])
            done = await browser.post(f"/self-service/recovery?flow={flow_id}",
                                      data={"csrf_token": csrf, "method": "code", "code": code})
            assert done.status_code == 303
            assert done.headers["location"].startswith(f"{gk.public}/ui/settings")
            me = await browser.get("/sessions/whoami")
            assert me.status_code == 200 and me.json()["identity"]["traits"]["email"] == "linus@example.com"
            again = await browser.get("/self-service/recovery/browser", headers={"Accept": "application/json"})
            assert again.status_code == 400 and again.json()["error"]["id"] == "session_already_available"


async def test_link_recovery(sink: SmtpSink, sqlite_dsn: str) -> None:
    extra = {"selfservice": {"methods": {"link": {"enabled": True}}, "flows": {"recovery": {"use": "link"}}}}
    async with mailing(sqlite_dsn, sink, extra) as gk:
        await register_api(gk, "alan@example.com")
        await mail_to(sink, "alan@example.com")
        async with httpx.AsyncClient(base_url=gk.public, headers={"Accept": "application/json"}) as browser:
            flow = (await browser.get("/self-service/recovery/browser")).json()
            csrf = flow["ui"]["nodes"][0]["attributes"]["value"]
            sent = await browser.post(f"/self-service/recovery?flow={flow['id']}",
                                      json={"csrf_token": csrf, "method": "link", "email": "alan@example.com"})
            assert sent.status_code == 200 and message_ids(sent.json()) == [1060002]
            link = link_in((await mail_to(sink, "alan@example.com", 2))[1])
            opened = await browser.get(link.replace(gk.public, ""), headers={"Accept": "text/html"})
            assert opened.status_code == 303 and opened.headers["location"].startswith(f"{gk.public}/ui/settings")
            assert (await browser.get("/sessions/whoami")).status_code == 200
            browser.cookies.clear()
            replay = await browser.get(link.replace(gk.public, ""), headers={"Accept": "text/html"})
            assert replay.status_code == 303 and "/ui/recovery" in replay.headers["location"]
            assert (await browser.get("/sessions/whoami")).status_code == 401


async def test_a_code_used_by_two_racing_requests_signs_in_once(sink: SmtpSink, dsn: str) -> None:
    async with mailing(dsn, sink) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        await register_api(gk, "race@example.com")
        await mail_to(sink, "race@example.com")
        flow = (await client.get("/self-service/recovery/api")).json()
        submit = f"/self-service/recovery?flow={flow['id']}"
        await client.post(submit, json={"method": "code", "email": "race@example.com"})
        code = code_in((await mail_to(sink, "race@example.com", 2))[1])
        answers = await asyncio.gather(*[client.post(submit, json={"method": "code", "code": code})
                                         for _ in range(4)])
        assert sorted(a.status_code for a in answers) == [200, 400, 400, 400]


async def test_sending_to_one_address_is_throttled(sink: SmtpSink, sqlite_dsn: str) -> None:
    async with mailing(sqlite_dsn, sink) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        flow = (await client.get("/self-service/recovery/api")).json()
        submit = f"/self-service/recovery?flow={flow['id']}"
        statuses = [(await client.post(submit, json={"method": "code", "email": "victim@example.com"})).status_code
                    for _ in range(11)]
        assert statuses == [200] * 10 + [429]
        other = await client.post(submit, json={"method": "code", "email": "someone@example.com"})
        assert other.status_code == 200
