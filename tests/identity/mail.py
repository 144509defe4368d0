"""Shared by the verification, recovery and hook tests: a gatekeeper that mails through a real SMTP sink."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import ory_kratos_client as k
import pytest

from tests.conftest import _merge
from tests.courier.sink import Received, SmtpSink
from tests.identity.conftest import PASSWORD, started
from tests.support.servers import Instance

FAST_WORKER = {"pull_wait": "50ms", "retry_backoff": "50ms", "retry_backoff_max": "200ms", "claim_lease": "30s"}


def mail_overrides(sink: SmtpSink, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Verification and recovery on (code method), mail to `sink`, and Kratos' quickstart registration hooks."""
    base: dict[str, Any] = {
        "courier": {"smtp": {"connection_uri": sink.uri(query="disable_starttls=true")}, "worker": FAST_WORKER},
        "selfservice": {"flows": {
            "verification": {"enabled": True},
            "recovery": {"enabled": True},
            "registration": {"after": {"password": {"hooks": [{"hook": "session"},
                                                               {"hook": "show_verification_ui"}]}}},
        }},
    }
    return _merge(base, extra or {})


def code_in(message: Received) -> str:
    found = re.search(r"\b(\d{6})\b", message.part("text/plain"))
    assert found, message.part("text/plain")
    return found.group(1)


def link_in(message: Received) -> str:
    found = re.search(r"(https?://\S+token=[\w-]+)", message.part("text/plain"))
    assert found, message.part("text/plain")
    return found.group(1)


async def mail_to(sink: SmtpSink, address: str, count: int = 1) -> list[Received]:
    """The first `count` messages to `address` (waits for them)."""
    while True:
        mine = [m for m in sink.received if address in m.rcpt_tos]
        if len(mine) >= count:
            return mine
        await sink.wait_for(len(sink.received) + 1)


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    """A plain SMTP server on 127.0.0.1 collecting what gatekeeper's courier delivers."""
    server = await SmtpSink().start()
    yield server
    await server.stop()


@contextlib.asynccontextmanager
async def mailing(dsn: str, sink: SmtpSink, extra: dict[str, Any] | None = None) -> AsyncIterator[Instance]:
    async with started(dsn, mail_overrides(sink, extra)) as gk:
        yield gk


def frontend(gk: Instance) -> k.FrontendApi:
    return k.FrontendApi(k.ApiClient(k.Configuration(host=gk.public)))


async def register_api(gk: Instance, email: str) -> dict[str, Any]:
    """A native registration (password): its success body."""
    async with httpx.AsyncClient(base_url=gk.public) as client:
        flow = (await client.get("/self-service/registration/api")).json()
        done = await client.post(f"/self-service/registration?flow={flow['id']}",
                                 json={"method": "password", "password": PASSWORD, "traits": {"email": email}})
        assert done.status_code == 200, done.text
        body: dict[str, Any] = done.json()
        return body


def call(fn: Any, *args: Any, **kw: Any) -> Any:
    """The SDK is synchronous: run it off the event loop (gatekeeper serves in the same loop)."""
    return asyncio.to_thread(fn, *args, **kw)


def message_ids(flow: dict[str, Any]) -> list[int]:
    return [m["id"] for m in flow["ui"].get("messages", [])]


async def answer_to_address(client: httpx.AsyncClient, kind: str, address: str) -> tuple[Any, ...]:
    """What a native `kind` flow answers when asked to send a code to `address`: state, messages, node names."""
    flow = (await client.get(f"/self-service/{kind}/api")).json()
    sent = await client.post(f"/self-service/{kind}?flow={flow['id']}", json={"method": "code", "email": address})
    assert sent.status_code == 200, sent.text
    body = sent.json()
    return body["state"], message_ids(body), [n["attributes"]["name"] for n in body["ui"]["nodes"]]
