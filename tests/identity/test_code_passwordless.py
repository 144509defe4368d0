"""Sign-up and sign-in with one-time e-mailed codes (`methods.code.passwordless_enabled`), through Kratos' SDK and
a cookie client, with codes read from a real SMTP server."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import BadRequestException

from tests.conftest import _merge
from tests.identity.conftest import PASSWORD, call, frontend, message_ids, register_api
from tests.support.smtp import SmtpSink, code_in, mail_to, mailing
from tests.support.smtp import sink as sink  # noqa: F401  (fixture)

PASSWORDLESS: dict[str, Any] = {"selfservice": {
    "methods": {"code": {"passwordless_enabled": True}},
    "flows": {"registration": {"after": {"code": {"hooks": [{"hook": "session"}]}}}},
}}


def signup(traits: dict[str, Any], code: str | None = None, resend: str | None = None) -> k.UpdateRegistrationFlowBody:
    return k.UpdateRegistrationFlowBody(k.UpdateRegistrationFlowWithCodeMethod(
        method="code", traits=traits, code=code, resend=resend))


def signin(identifier: str | None = None, code: str | None = None) -> k.UpdateLoginFlowBody:
    return k.UpdateLoginFlowBody(k.UpdateLoginFlowWithCodeMethod(
        method="code", csrf_token="", identifier=identifier, code=code))


async def refused(fn: Any, *args: Any) -> dict[str, Any]:
    """The flow a 400 answer carries."""
    with pytest.raises(BadRequestException) as raised:
        await call(fn, *args)
    body: dict[str, Any] = json.loads(raised.value.body)
    return body


def nodes(flow: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    return [(n["group"], n["attributes"].get("name"), n["attributes"].get("type"),
             (n["meta"].get("label") or {}).get("id")) for n in flow["ui"]["nodes"]]


async def test_native_sign_up_then_sign_in_with_codes(dsn: str, sink: SmtpSink) -> None:
    async with mailing(dsn, sink, PASSWORDLESS) as gk:
        api = frontend(gk)
        flow = await call(api.create_native_registration_flow)
        sent = await refused(api.update_registration_flow, flow.id, signup({"email": "Ada@Example.com"}))
        assert sent["state"] == "sent_email" and sent["active"] == "code"
        assert message_ids(sent) == [1040005]
        assert nodes(sent) == [("default", "traits.email", "hidden", 1070002),
                               ("default", "traits.name.first", "hidden", 1070002),
                               ("default", "traits.name.last", "hidden", 1070002),
                               ("code", "method", "hidden", None), ("code", "code", "text", 1070012),
                               ("code", "method", "submit", 1070009), ("code", "resend", "submit", 1070008),
                               ("profile", "screen", "submit", 1040008)]
        mail = (await mail_to(sink, "ada@example.com"))[0]
        assert "Complete your account registration" in mail.part("text/plain")
        done = await call(api.update_registration_flow, flow.id,
                          signup({"email": "Ada@Example.com"}, code=code_in(mail)))
        assert done.identity.traits == {"email": "Ada@Example.com"}
        assert done.identity.verifiable_addresses[0].verified is True  # the code reached it
        assert done.session_token

        login = await call(api.create_native_login_flow)
        assert ("code", "method", "submit", 1010015) in nodes(login.to_dict())
        sent = await refused(api.update_login_flow, login.id, signin("ADA@example.com"))
        assert sent["state"] == "sent_email" and message_ids(sent) == [1010014]
        assert nodes(sent) == [("default", "identifier", "hidden", None), ("code", "method", "hidden", None),
                               ("code", "code", "text", 1070013), ("code", "method", "submit", 1070009),
                               ("code", "resend", "submit", 1070008)]
        mail = (await mail_to(sink, "ada@example.com", 2))[1]
        assert "Login to your account" in mail.part("text/plain")
        signed_in = await call(api.update_login_flow, login.id, signin("ada@example.com", code_in(mail)))
        session = await call(api.to_session, x_session_token=signed_in.session_token)
        assert session.identity.id == done.identity.id
        assert [m.method for m in session.authentication_methods] == ["code"]


async def identities(gk: Any) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=gk.admin) as admin:
        found: list[dict[str, Any]] = (await admin.get("/admin/identities")).json()
        return found


async def send_login_code(api: k.FrontendApi, address: str) -> tuple[str, dict[str, Any]]:
    flow = await call(api.create_native_login_flow)
    return flow.id, await refused(api.update_login_flow, flow.id, signin(address))


async def login_code(api: k.FrontendApi, sink: SmtpSink, address: str, nth: int) -> tuple[str, str]:
    """A native login flow that sent a code to `address`, and the code (the `nth` message to that address)."""
    flow_id, _ = await send_login_code(api, address)
    return flow_id, code_in((await mail_to(sink, address, nth))[nth - 1])


async def test_browser_sign_in_with_a_code_from_the_built_in_ui(sqlite_dsn: str, sink: SmtpSink) -> None:
    """An account made with a password signs in with a code at its (schema-marked) e-mail address."""
    async with mailing(sqlite_dsn, sink, PASSWORDLESS) as gk, \
            httpx.AsyncClient(base_url=gk.public) as browser:
        await register_api(gk, "grace@example.com")
        await mail_to(sink, "grace@example.com")  # the verification code
        page = await browser.get((await browser.get("/self-service/login/browser")).headers["location"])
        assert '<button type="submit" name="method" value="code"' in page.text and "Send sign in code" in page.text
        form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1),  # type: ignore
                "identifier": "grace@example.com", "method": "code"}
        action = re.search(r'action="([^"]+)"', page.text).group(1).replace("&amp;", "&")  # type: ignore
        sent = await browser.post(action, data=form)
        assert sent.status_code == 303 and "/ui/login?flow=" in sent.headers["location"]
        page = await browser.get(sent.headers["location"])
        assert 'autocomplete="one-time-code"' in page.text and "Resend code" in page.text
        code = code_in((await mail_to(sink, "grace@example.com", 2))[1])
        done = await browser.post(action, data={**form, "code": code})
        assert done.status_code == 303 and done.headers["location"] == "http://app.example.test/"
        whoami = (await browser.get("/sessions/whoami")).json()
        assert whoami["identity"]["traits"]["email"] == "grace@example.com"
        assert whoami["identity"]["verifiable_addresses"][0]["verified"] is True


async def test_unknown_addresses_get_the_same_answer_and_no_mail(sqlite_dsn: str, sink: SmtpSink) -> None:
    async with mailing(sqlite_dsn, sink, PASSWORDLESS) as gk:
        await register_api(gk, "known@example.com")
        await mail_to(sink, "known@example.com")
        api = frontend(gk)
        answers = []
        for address in ("known@example.com", "stranger@example.com"):
            _, sent = await send_login_code(api, address)
            answers.append((sent["state"], message_ids(sent), [n[:3] for n in nodes(sent)]))
        assert answers[0] == answers[1]
        await mail_to(sink, "known@example.com", 2)
        assert not [m for m in sink.received if "stranger@example.com" in m.rcpt_tos]
        flow_id, _ = await send_login_code(api, "stranger@example.com")
        wrong = await refused(api.update_login_flow, flow_id, signin("stranger@example.com", "123456"))
        assert message_ids(wrong) == [4010008]


async def test_codes_for_another_flow_reused_or_tried_too_often_are_refused(sqlite_dsn: str, sink: SmtpSink) -> None:
    async with mailing(sqlite_dsn, sink, PASSWORDLESS) as gk:
        await register_api(gk, "lin@example.com")
        await mail_to(sink, "lin@example.com")
        api = frontend(gk)
        first, code_a = await login_code(api, sink, "lin@example.com", 2)
        second, code_b = await login_code(api, sink, "lin@example.com", 3)
        if code_a != code_b:  # a code for another flow
            other = await refused(api.update_login_flow, second, signin("lin@example.com", code_a))
            assert message_ids(other) == [4010008]
        wrong = "000000" if code_b != "000000" else "111111"
        for _ in range(5):
            await refused(api.update_login_flow, second, signin("lin@example.com", wrong))
        void = await refused(api.update_login_flow, second, signin("lin@example.com", code_b))
        assert message_ids(void) == [4010008]  # tried too often: even the right code is void now
        signed_in = await call(api.update_login_flow, first, signin("lin@example.com", code_a))
        assert signed_in.session_token
        again = await refused(api.update_login_flow, first, signin("lin@example.com", code_a))
        assert message_ids(again) == [4010007]  # single use: the flow is done


async def test_expired_code_is_refused(sqlite_dsn: str, sink: SmtpSink) -> None:
    extra = _merge(PASSWORDLESS, {"selfservice": {"methods": {"code": {"config": {"lifespan": "1s"}}}}})
    async with mailing(sqlite_dsn, sink, extra) as gk:
        await register_api(gk, "old@example.com")
        await mail_to(sink, "old@example.com")
        api = frontend(gk)
        flow_id, code = await login_code(api, sink, "old@example.com", 2)
        await asyncio.sleep(1.2)
        late = await refused(api.update_login_flow, flow_id, signin("old@example.com", code))
        assert message_ids(late) == [4010008]


async def test_sign_up_refuses_switched_traits_wrong_codes_and_taken_addresses(dsn: str, sink: SmtpSink) -> None:
    async with mailing(dsn, sink, PASSWORDLESS) as gk:
        api = frontend(gk)
        flow = await call(api.create_native_registration_flow)
        await refused(api.update_registration_flow, flow.id, signup({"email": "eve@example.com"}))
        code = code_in((await mail_to(sink, "eve@example.com"))[0])
        switched = await refused(api.update_registration_flow, flow.id, signup({"email": "mallory@example.com"}, code))
        assert message_ids(switched) == [4000036]
        wrong = await refused(api.update_registration_flow, flow.id,
                              signup({"email": "eve@example.com"}, "000000" if code != "000000" else "111111"))
        assert message_ids(wrong) == [4040003]
        assert await identities(gk) == []  # nothing created
        resent = await refused(api.update_registration_flow, flow.id,
                               signup({"email": "eve@example.com"}, resend="code"))
        assert resent["state"] == "sent_email"
        fresh = code_in((await mail_to(sink, "eve@example.com", 2))[1])
        await call(api.update_registration_flow, flow.id, signup({"email": "eve@example.com"}, fresh))
        (created,) = await identities(gk)
        async with httpx.AsyncClient(base_url=gk.admin) as admin:
            full = (await admin.get(f"/admin/identities/{created['id']}")).json()
        assert full["credentials"]["code"]["identifiers"] == ["eve@example.com"]

        again = await call(api.create_native_registration_flow)
        await refused(api.update_registration_flow, again.id, signup({"email": "eve@example.com"}))
        code = code_in((await mail_to(sink, "eve@example.com", 3))[2])
        taken = await refused(api.update_registration_flow, again.id, signup({"email": "eve@example.com"}, code))
        assert message_ids(taken) == [4000007]
        assert len(await identities(gk)) == 1


MFA: dict[str, Any] = {"selfservice": {"methods": {"code": {"mfa_enabled": True}}}}


def second(address: str | None = None, code: str | None = None) -> k.UpdateLoginFlowBody:
    return k.UpdateLoginFlowBody(k.UpdateLoginFlowWithCodeMethod(method="code", csrf_token="", address=address,
                                                                 code=code))


async def test_a_code_as_second_factor_upgrades_the_session_to_aal2(dsn: str, sink: SmtpSink) -> None:
    async with mailing(dsn, sink, MFA) as gk:
        await register_api(gk, "ada@example.com")
        await mail_to(sink, "ada@example.com")  # the verification code
        api = frontend(gk)
        login = await call(api.create_native_login_flow)
        password = k.UpdateLoginFlowBody(k.UpdateLoginFlowWithPasswordMethod(
            method="password", identifier="ada@example.com", password=PASSWORD))
        token = (await call(api.update_login_flow, login.id, password)).session_token
        with pytest.raises(k.ApiException) as owed:  # an e-mail address is a second factor now
            await call(api.to_session, x_session_token=token)
        assert json.loads(owed.value.body)["error"]["id"] == "session_aal2_required"

        step_up = await call(api.create_native_login_flow, aal="aal2", x_session_token=token)
        offered = [n for n in step_up.to_dict()["ui"]["nodes"] if n["attributes"].get("name") == "address"]
        assert [(n["attributes"]["value"], n["meta"]["label"]["id"], n["meta"]["label"]["context"])
                for n in offered] == [("ada@example.com", 1010023, {"address": "ada@example.com", "channel": "email"})]
        unknown = await refused(lambda: api.update_login_flow(step_up.id, second("eve@example.com"),
                                                              x_session_token=token))
        assert message_ids(unknown) == [4010010]
        sent = await refused(lambda: api.update_login_flow(step_up.id, second("ada@example.com"),
                                                           x_session_token=token))
        assert sent["state"] == "sent_email" and message_ids(sent) == [1010014]
        code = code_in((await mail_to(sink, "ada@example.com", 2))[1])
        await call(api.update_login_flow, step_up.id, second(code=code), x_session_token=token)
        session = await call(api.to_session, x_session_token=token)
        assert session.authenticator_assurance_level == "aal2"
        assert [(m.method, m.aal) for m in session.authentication_methods] == [("password", "aal1"), ("code", "aal2")]


async def test_identifier_first_login_offers_the_code_on_its_second_screen(sqlite_dsn: str, sink: SmtpSink) -> None:
    extra = _merge(PASSWORDLESS, {"selfservice": {"flows": {"login": {"style": "identifier_first"}}}})
    async with mailing(sqlite_dsn, sink, extra) as gk:
        await register_api(gk, "ida@example.com")
        await mail_to(sink, "ida@example.com")
        api = frontend(gk)
        login = await call(api.create_native_login_flow)
        assert ("code", "method", "submit", 1010015) not in nodes(login.to_dict())
        first = k.UpdateLoginFlowBody(k.UpdateLoginFlowWithIdentifierFirstMethod(
            method="identifier_first", identifier="ida@example.com"))
        screen = await refused(api.update_login_flow, login.id, first)
        assert ("code", "method", "submit", 1010015) in nodes(screen)
        await refused(api.update_login_flow, login.id, signin("ida@example.com"))
        code = code_in((await mail_to(sink, "ida@example.com", 2))[1])
        assert (await call(api.update_login_flow, login.id, signin("ida@example.com", code))).session_token


TWO_ADDRESSES = {"type": "object", "properties": {"traits": {"type": "object", "properties": {
    address: {"type": "string", "format": "email", "title": title, "ory.sh/kratos": {"credentials": {
        "password": {"identifier": True}, "code": {"identifier": True, "via": "email"}},
        "verification": {"via": "email"}}}
    for address, title in (("email", "E-Mail"), ("backup", "Backup e-mail"))}, "required": ["email"]}}}


async def test_a_refresh_login_offers_a_code_to_each_address_of_the_session(tmp_path: Path, dsn: str,
                                                                            sink: SmtpSink) -> None:
    """The identity is known: "Send code to <address>" per address (as newer Kratos), not the identifier; a code
    goes to the chosen one only, never to another identity's, and refreshes the same session."""
    schema = tmp_path / "two.schema.json"
    schema.write_text(json.dumps(TWO_ADDRESSES))
    extra = _merge(PASSWORDLESS, {"identity": {"schemas": [{"id": "default", "url": f"file://{schema}"}]}})
    async with mailing(dsn, sink, extra) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        for traits in ({"email": "ada@example.com", "backup": "ada@backup.example"}, {"email": "eve@example.com"}):
            flow = (await client.get("/self-service/registration/api")).json()
            done = await client.post(f"/self-service/registration?flow={flow['id']}",
                                     json={"method": "password", "password": PASSWORD, "traits": traits})
            assert done.status_code == 200, done.text
        api = frontend(gk)
        password = k.UpdateLoginFlowBody(k.UpdateLoginFlowWithPasswordMethod(
            method="password", identifier="ada@example.com", password=PASSWORD))
        token = (await call(api.update_login_flow, (await call(api.create_native_login_flow)).id, password)
                 ).session_token
        refresh = (await call(api.create_native_login_flow, refresh=True, x_session_token=token)).to_dict()
        offered = [(n["attributes"]["type"], n["attributes"]["value"], n["meta"]["label"]["id"],
                    n["meta"]["label"]["context"]) for n in refresh["ui"]["nodes"] if n["group"] == "code"]
        assert offered == [("submit", address, 1010023, {"address": address, "channel": "email"})
                           for address in ("ada@backup.example", "ada@example.com")]
        url, session = f"/self-service/login?flow={refresh['id']}", {"X-Session-Token": token}
        foreign = await client.post(url, json={"address": "eve@example.com"}, headers=session)
        assert (foreign.status_code, message_ids(foreign.json())) == (400, [4000035])
        sent = await client.post(url, json={"address": "ada@backup.example"}, headers=session)  # as the button
        assert (sent.status_code, sent.json()["state"], message_ids(sent.json())) == (400, "sent_email", [1010014])
        code = code_in((await mail_to(sink, "ada@backup.example", 2))[1])  # after its verification code
        proved = await call(api.update_login_flow, refresh["id"], k.UpdateLoginFlowBody(
            k.UpdateLoginFlowWithCodeMethod(method="code", csrf_token="", code=code)), x_session_token=token)
        assert proved.session_token in (None, token)
        me = await call(api.to_session, x_session_token=token)
        assert [(m.method, m.aal) for m in me.authentication_methods] == [("password", "aal1"), ("code", "aal1")]
        assert len(await mail_to(sink, "ada@example.com")) == 1 and len(await mail_to(sink, "eve@example.com")) == 1
