"""Sign-up and sign-in with one-time e-mailed codes (`methods.code.passwordless_enabled`), through Kratos' SDK and
a cookie client, with codes read from a real SMTP server."""

from __future__ import annotations

import json
from typing import Any

import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import BadRequestException

from tests.identity.conftest import call, frontend, message_ids
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
