"""Shared fixtures: `dsn` runs a test on SQLite and on PostgreSQL; `store` is a migrated store on it;
`make_config` builds a validated Config from YAML-like overrides; `gatekeeper` runs a whole instance."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.config import Config, parse_config
from gatekeeper.config.dsn import Dsn
from gatekeeper.store import Store, open_store
from tests.support.ci import unavailable
from tests.support.databases import create_postgres_database, drop_postgres_database, reset_postgres
from tests.support.servers import Instance, running_gatekeeper

TEST_SECRET = "test-cookie-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    dsn, why = create_postgres_database()
    if dsn is None:
        unavailable(why)
    yield dsn
    drop_postgres_database(dsn)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The DSN of an empty, migrated database: a new SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        dsn = f"sqlite://{tmp_path}/gatekeeper.db?_fk=true"
    else:
        dsn = request.getfixturevalue("postgres_dsn")
    store = await open_store(Dsn.parse(dsn))
    try:
        await store.migrate()
    finally:
        await store.close()
    if request.param == "postgres":
        await reset_postgres(dsn)
    return dsn


@pytest.fixture
async def store(dsn: str) -> AsyncIterator[Store]:
    store = await open_store(Dsn.parse(dsn))
    yield store
    await store.close()


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture
def make_config(dsn: str) -> Callable[..., Config]:
    """`make_config({...overrides})`: a validated Config on the test database with test secrets."""
    import yaml

    def make(overrides: dict[str, Any] | None = None, **kw: Any) -> Config:
        data = _merge({"dsn": dsn, "secrets": {"cookie": [TEST_SECRET]}, "log": {"level": "warning"}},
                      overrides or {})
        return parse_config(yaml.safe_dump(data), name="test-config.yaml", env={}, **kw)

    return make


@pytest.fixture
async def gatekeeper(make_config: Callable[..., Config]) -> AsyncIterator[Instance]:
    """A running gatekeeper with default config on the test database."""
    async with running_gatekeeper(make_config()) as instance:
        yield instance
