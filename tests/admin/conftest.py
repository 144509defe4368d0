"""Admin fixtures: the identity test instance (dev mode, bcrypt cost 4, no breach check) plus clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.identity.conftest import PASSWORD, gk, sqlite_dsn, start, started  # noqa: F401 - fixtures
from tests.support.servers import Instance


@pytest.fixture
async def admin(gk: Instance) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with httpx.AsyncClient(base_url=gk.admin, timeout=30) as client:
        yield client


async def login(gk: Instance, identifier: str, password: str = PASSWORD) -> httpx.Response:  # noqa: F811
    """A native password login: the response of the submit (200 with session_token on success)."""
    async with httpx.AsyncClient(base_url=gk.public, timeout=30) as client:
        flow = (await client.get("/self-service/login/api")).json()
        return await client.post(f"/self-service/login?flow={flow['id']}",
                                 json={"method": "password", "identifier": identifier, "password": password})


def person(email: str, **extra: Any) -> dict[str, Any]:
    return {"schema_id": "default", "traits": {"email": email}, **extra}
