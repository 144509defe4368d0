"""Identity fixtures: a running gatekeeper (SQLite; PostgreSQL where a test asks for `dsn`) tuned for tests:
dev mode, bcrypt cost 4, no network breach check, and the `session` hook after registration."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import ory_kratos_client as k
import pytest
import yaml

from gatekeeper.config import Config, parse_config
from gatekeeper.server.listeners import LISTENERS
from tests.conftest import TEST_SECRET, _merge
from tests.support.servers import Instance, free_socket, running_gatekeeper, url_of

PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105

BASE_OVERRIDES: dict[str, Any] = {
    "dev": True,
    "hashers": {"algorithm": "bcrypt", "bcrypt": {"cost": 4}},
    "selfservice": {
        "default_browser_return_url": "http://app.example.test/",
        "allowed_return_urls": ["http://app.example.test/"],
        "methods": {"password": {"config": {"haveibeenpwned_enabled": False}}},
        "flows": {"registration": {"after": {"password": {"hooks": [{"hook": "session"}]}}}},
    },
}


def identity_config(dsn: str, overrides: dict[str, Any] | None = None) -> Config:
    data = _merge(_merge({"dsn": dsn, "secrets": {"cookie": [TEST_SECRET]}, "log": {"level": "warning"}},
                         BASE_OVERRIDES), overrides or {})
    return parse_config(yaml.safe_dump(data), name="test-config.yaml", env={})


@contextlib.asynccontextmanager
async def started(dsn: str, overrides: dict[str, Any] | None = None, *,
                  base: str = "public") -> AsyncIterator[Instance]:
    """A gatekeeper whose `serve.public.base_url` is its own public listener (or the proxy's /.auth)."""
    sockets = {name: free_socket() for name in LISTENERS}
    public = url_of(sockets["public"]) if base == "public" else url_of(sockets["proxy"]) + "/.auth"
    extra = _merge({"serve": {"public": {"base_url": public}, "proxy": {"base_url": url_of(sockets["proxy"])}}},
                   overrides or {})
    async with running_gatekeeper(identity_config(dsn, extra), sockets=sockets) as instance:
        yield instance


@pytest.fixture
def sqlite_dsn(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path}/gatekeeper.db?_fk=true"


@pytest.fixture
def start(sqlite_dsn: str) -> Callable[..., Any]:
    """`async with start({...overrides}) as gk:` a gatekeeper on a fresh SQLite database."""
    def run(overrides: dict[str, Any] | None = None, *, dsn: str | None = None, base: str = "public") -> Any:
        return started(dsn or sqlite_dsn, overrides, base=base)
    return run


@pytest.fixture
async def gk(start: Callable[..., Any]) -> AsyncIterator[Instance]:
    """A gatekeeper whose public base URL is its own public listener (so SDK URLs resolve)."""
    async with start() as instance:
        yield instance


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
