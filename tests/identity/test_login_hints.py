"""`selfservice.flows.registration.login_hints`: a taken identifier at registration names how the existing account
signs in (Kratos' 4000028), through Kratos' SDK; without the switch the plain 4000007."""

from __future__ import annotations

import json
from typing import Any

import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import BadRequestException

from tests.identity.conftest import PASSWORD, call, frontend, register_api
from tests.support.smtp import SmtpSink, code_in, mail_to, mailing
from tests.support.smtp import sink as sink  # noqa: F401  (fixture)

HINTS: dict[str, Any] = {"selfservice": {"flows": {"registration": {"login_hints": True}}}}


async def duplicate(api: k.FrontendApi, email: str) -> dict[str, Any]:
    """The message a password registration of a taken `email` gets."""
    flow = await call(api.create_native_registration_flow)
    body = k.UpdateRegistrationFlowBody(k.UpdateRegistrationFlowWithPasswordMethod(
        method="password", password=PASSWORD, traits={"email": email}))
    with pytest.raises(BadRequestException) as raised:
        await call(api.update_registration_flow, flow.id, body)
    (message,) = json.loads(raised.value.body)["ui"]["messages"]
    return dict(message)


async def test_hints_name_the_password_of_the_existing_account(dsn: str, start: Any) -> None:
    async with start(HINTS, dsn=dsn) as gk:
        await register_api(gk, "ada@example.com")
        message = await duplicate(frontend(gk), "ADA@example.com")
        assert message["id"] == 4000028
        assert message["context"] == {"available_credential_types": ["password"], "available_oidc_providers": [],
                                      "credential_identifier_hint": "ada@example.com"}
        assert message["text"] == ("You tried signing in with ada@example.com which is already in use by another "
                                   "account. You can sign in using your password.")


async def test_hints_name_a_code_account(sqlite_dsn: str, sink: SmtpSink) -> None:
    extra = {"selfservice": {"methods": {"code": {"passwordless_enabled": True}},
                             "flows": {"registration": {"login_hints": True}}}}
    async with mailing(sqlite_dsn, sink, extra) as gk:
        api = frontend(gk)
        flow = await call(api.create_native_registration_flow)

        def signup(code: str | None = None) -> k.UpdateRegistrationFlowBody:
            return k.UpdateRegistrationFlowBody(k.UpdateRegistrationFlowWithCodeMethod(
                method="code", traits={"email": "lin@example.com"}, code=code))

        with pytest.raises(BadRequestException):
            await call(api.update_registration_flow, flow.id, signup())
        await call(api.update_registration_flow, flow.id, signup(code_in((await mail_to(sink, "lin@example.com"))[0])))
        message = await duplicate(api, "lin@example.com")
        assert message["id"] == 4000028
        assert message["context"]["available_credential_types"] == ["code"]
        assert message["context"]["credential_identifier_hint"] == "lin@example.com"


async def test_without_hints_the_plain_duplicate_message(gk: Any) -> None:
    await register_api(gk, "grace@example.com")
    message = await duplicate(frontend(gk), "grace@example.com")
    assert message["id"] == 4000007 and "context" not in message
