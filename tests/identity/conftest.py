"""Identity fixtures: a running gatekeeper (SQLite; PostgreSQL where a test asks for `dsn`) tuned for tests:
dev mode, bcrypt cost 4, no network breach check, and the `session` hook after registration."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatekeeper.app import LISTENERS
from gatekeeper.config import Config, parse_config
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
