"""Courier fixtures: a running SMTP sink, a throw-away TLS certificate, and couriers on the test database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.config import Config
from gatekeeper.identity.courier import Courier
from gatekeeper.store import Store
from gatekeeper.store.courier import CourierMessage
from tests.support.smtp import FAST_WORKER, self_signed_certificate
from tests.support.smtp import sink as sink  # noqa: F401  (fixture)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


@pytest.fixture
def courier_config(make_config: Callable[..., Config]) -> Callable[..., Config]:
    """`courier_config(uri, **courier_keys)`: a Config whose courier sends to `uri` with fast worker timings."""

    def make(uri: str | None, *, dev: bool = False, worker: dict[str, Any] | None = None,
             **courier: Any) -> Config:
        section: dict[str, Any] = {"worker": {**FAST_WORKER, **(worker or {})}, **courier}
        if uri is not None:
            section["smtp"] = {"connection_uri": uri, **section.get("smtp", {})}
        return make_config({"courier": section}, dev=dev)

    return make


@contextlib.asynccontextmanager
async def running(courier: Courier) -> AsyncIterator[Courier]:
    """The courier's worker started for the duration of the block."""
    await courier.worker.start()
    try:
        yield courier
    finally:
        await courier.worker.stop()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    """Poll `check` until it is true (fails after `timeout` seconds: a hang, not a speed assertion)."""
    async def poll() -> None:
        while not await check():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def settled(store: Store, message_id: str, status: str, timeout: float = 15.0) -> CourierMessage:
    """The message once it has reached `status`."""
    found: list[CourierMessage] = []

    async def check() -> bool:
        message = await store.courier_message(message_id)
        assert message is not None
        found[:] = [message]
        return message.status == status

    await eventually(check, timeout)
    return found[0]


VERIFY = {"verification_code": "123456", "verification_url": "https://app.example/verify?code=123456",
          "expires_in_minutes": 60}
