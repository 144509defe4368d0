"""LiveConnections on its own: the registry that ends long-lived connections with their session."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from gatekeeper.access.handlers import AuthSession
from gatekeeper.proxy.live import LiveConnections


def session(check: Any, expires_at: str = "") -> AuthSession:
    return AuthSession(view=None, still_valid=check, expires_at=expires_at)  # type: ignore[arg-type]


async def test_a_revocation_arriving_during_a_recheck_gets_a_round_of_its_own() -> None:
    live = LiveConnections(CollectorRegistry())
    valid, gate = [True], asyncio.Event()

    async def check() -> bool:
        seen = valid[0]  # what the store said when asked...
        await gate.wait()  # ...answered late
        return seen

    async with live.watch(session(check)) as ended:
        live.revoked(["h1"])
        await asyncio.sleep(0.05)  # round one is waiting for its (stale) answer
        valid[0] = False
        live.revoked(["h2"])  # the revocation of this very session arrives now
        gate.set()
        await asyncio.wait_for(ended.wait(), 2)
    assert live.closed.labels("revoked")._value.get() == 1


async def test_a_session_ends_at_its_expiry_and_unrecheckable_ones_are_not_watched() -> None:
    live = LiveConnections(CollectorRegistry())

    async def fine() -> bool:
        return True

    soon = (datetime.now(UTC) + timedelta(seconds=0.3)).isoformat()
    async with live.watch(session(fine, soon)) as ended, live.watch(session(None)) as never:
        assert live.open._value.get() == 1  # anonymous/jwt sessions have nothing to re-check
        await asyncio.wait_for(ended.wait(), 3)
        assert not never.is_set()
    assert live.open._value.get() == 0
