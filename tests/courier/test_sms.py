"""SMS through `courier.channels[]` (`id: sms`, `type: http`): phone numbers as code identifiers, verifiable and
recovery addresses (E.164), codes sent to a real local HTTP sink, retries from the outbox through a sink outage,
and the config problems of a channel."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import BadRequestException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatekeeper.config import ConfigError, parse_config
from tests.identity.conftest import call, frontend, started
from tests.identity.conftest import sqlite_dsn as sqlite_dsn  # noqa: F401  (fixture)
from tests.support.servers import serving
from tests.support.smtp import FAST_WORKER

SCHEMA = {
    "$id": "https://example.test/phone.schema.json", "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"traits": {"type": "object", "required": ["phone"], "additionalProperties": False, "properties": {
        "phone": {"type": "string", "title": "Phone number", "maxLength": 32, "ory.sh/kratos": {
            "credentials": {"code": {"identifier": True, "via": "sms"}},
            "verification": {"via": "sms"}, "recovery": {"via": "sms"}}}}}},
}
BODY = 'function(ctx) { To: ctx.recipient, Body: ctx.body, Kind: ctx.template_type, Type: ctx.message_type }'


class SmsGateway:
    """Records the messages POSTed to it; answers 503 while `down`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.down = False
        self.app = Starlette(routes=[Route("/messages", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        if self.down:
            self.refused += 1
            return Response("maintenance", status_code=503)
        self.received.append({"auth": request.headers.get("authorization"), **json.loads(await request.body())})
        return Response(status_code=201)

    async def message_to(self, number: str, count: int = 1) -> dict[str, Any]:
        for _ in range(400):
            mine = [m for m in self.received if m["To"] == number]
            if len(mine) >= count:
                return mine[count - 1]
            await asyncio.sleep(0.025)
        raise AssertionError(f"no SMS #{count} to {number}: {self.received}")


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[SmsGateway, str]]:
    server = SmsGateway()
    async with serving(server.app) as url:
        yield server, url


def sms_config(url: str) -> dict[str, Any]:
    schema = "base64://" + base64.b64encode(json.dumps(SCHEMA).encode()).decode()
    return {
        "identity": {"default_schema_id": "phone", "schemas": [{"id": "phone", "url": schema}]},
        "courier": {"worker": FAST_WORKER, "channels": [{"id": "sms", "type": "http", "request_config": {
            "url": f"{url}/messages", "method": "POST",
            "body": "base64://" + base64.b64encode(BODY.encode()).decode(),
            "auth": {"type": "basic_auth", "config": {"user": "gk", "password": "sms-secret"}}}}]},
        "selfservice": {"methods": {"code": {"passwordless_enabled": True}},
                        "flows": {"recovery": {"enabled": True},
                                  "registration": {"after": {"code": {"hooks": [{"hook": "session"}]}}}}},
    }


def code_of(sms: dict[str, Any]) -> str:
    found = re.search(r"\b(\d{6})\b", sms["Body"])
    assert found, sms
    return found.group(1)


async def test_sign_up_and_sign_in_with_a_phone_number(dsn: str, gateway: tuple[SmsGateway, str]) -> None:
    server, url = gateway
    async with started(dsn, sms_config(url)) as gk:
        api = frontend(gk)
        flow = await call(api.create_native_registration_flow)

        def signup(code: str | None = None) -> k.UpdateRegistrationFlowBody:
            return k.UpdateRegistrationFlowBody(k.UpdateRegistrationFlowWithCodeMethod(
                method="code", traits={"phone": "+1 415 555 0100"}, code=code))

        with pytest.raises(BadRequestException):
            await call(api.update_registration_flow, flow.id, signup())
        sms = await server.message_to("+14155550100")
        assert sms["Kind"] == "registration_code_valid" and sms["Type"] == "sms"
        assert sms["auth"] == "Basic " + base64.b64encode(b"gk:sms-secret").decode()
        done = await call(api.update_registration_flow, flow.id, signup(code_of(sms)))
        address = done.identity.verifiable_addresses[0]
        assert (address.value, address.via, address.verified) == ("+14155550100", "sms", True)

        login = await call(api.create_native_login_flow)
        body = k.UpdateLoginFlowBody(k.UpdateLoginFlowWithCodeMethod(method="code", csrf_token="",
                                                                     identifier="+1 (415) 555-0100"))
        with pytest.raises(BadRequestException):
            await call(api.update_login_flow, login.id, body)
        sms = await server.message_to("+14155550100", 2)
        assert sms["Kind"] == "login_code_valid" and "sign-in code" in sms["Body"]
        body.actual_instance.code = code_of(sms)  # type: ignore[union-attr]
        signed_in = await call(api.update_login_flow, login.id, body)
        assert signed_in.session.identity.id == done.identity.id


        recovery = await call(api.create_native_recovery_flow)  # the number is a recovery address too
        await call(api.update_recovery_flow, recovery.id, k.UpdateRecoveryFlowBody(
            k.UpdateRecoveryFlowWithCodeMethod(method="code", email="+1 415-555-0100")))
        sms = await server.message_to("+14155550100", 3)
        assert sms["Kind"] == "recovery_code_valid"
        recovered = await call(api.update_recovery_flow, recovery.id, k.UpdateRecoveryFlowBody(
            k.UpdateRecoveryFlowWithCodeMethod(method="code", code=code_of(sms))))
        assert recovered.state == "passed_challenge"


async def test_an_outage_of_the_gateway_loses_nothing(sqlite_dsn: str, gateway: tuple[SmsGateway, str]) -> None:
    server, url = gateway
    server.down = True
    async with started(sqlite_dsn, sms_config(url)) as gk, httpx.AsyncClient(base_url=gk.public) as client:
        flow = (await client.get("/self-service/registration/api")).json()
        sent = await client.post(f"/self-service/registration?flow={flow['id']}",
                                 json={"method": "code", "traits": {"phone": "+442071838750"}})
        assert sent.status_code == 400 and sent.json()["state"] == "sent_email"
        while server.refused < 2:  # the worker tried and will try again
            await asyncio.sleep(0.025)
        server.down = False
        sms = await server.message_to("+442071838750")
        assert sms["Kind"] == "registration_code_valid"
        async with httpx.AsyncClient(base_url=gk.admin) as admin:
            (listed,) = (await admin.get("/admin/courier/messages")).json()
            message = (await admin.get(f"/admin/courier/messages/{listed['id']}")).json()
            while message["status"] == "processing":  # delivered; the worker is recording it
                await asyncio.sleep(0.025)
                message = (await admin.get(f"/admin/courier/messages/{listed['id']}")).json()
        assert message["status"] == "sent" and message["type"] == "sms" and message["channel"] == "sms"
        statuses = sorted(d["status"] for d in message["dispatches"])
        assert statuses.count("failed") >= 2 and statuses.count("success") == 1  # retried, then delivered once


@pytest.mark.parametrize(("channel", "problem"), [
    pytest.param({"id": "sms", "request_config": {"url": "ftp://x", "body": "base64://e30="}},
                 "courier.channels.0.request_config.url: expected an http:// or https:// URL", id="bad url"),
    pytest.param({"id": "sms", "request_config": {"url": "http://x"}},
                 "courier.channels.0.request_config.body: expected the request body's Jsonnet template",
                 id="no body template"),
    pytest.param({"id": "email", "request_config": {"url": "http://x", "body": "base64://e30="}},
                 "courier.channels.0.id: expected sms", id="e-mail goes through SMTP"),
])
def test_channel_config_problems_name_the_key(channel: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as bad:
        parse_config(json.dumps({"courier": {"channels": [channel]}}), name="c.yaml", env={}, dev=True)
    assert problem in str(bad.value)
