"""Hostile clients on raw sockets: bytes an HTTP client library would never send reach the listeners as sent.
Whatever arrives, the answer is a 4xx with the error envelope, never a 5xx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.access.support import access_config, echo_app, raw_get, rule
from tests.support.servers import Instance, running_gatekeeper, serving

# every header an authenticator or the request view reads, with bytes that are not UTF-8 (or not ASCII)
UNDECODABLE = [
    ("Cookie", "ory_kratos_session=abc.\xff\xfe"),
    ("Cookie", "ory_kratos_session=\xff\xfe"),
    ("Authorization", "Bearer abc.\xe9"),
    ("Authorization", "Bearer ey\xff.a.b"),
    ("Authorization", "Basic \xff\xff"),
    ("X-Session-Token", "a.\xe9"),
    ("X-Forwarded-Uri", "/p\xff"),
    ("X-Forwarded-Host", "h\xffst"),
    ("X-Forwarded-Method", "G\xffT"),
    ("Accept", "text/\xff"),
    ("Origin", "http://\xff"),
]


@pytest.fixture
async def edge(tmp_path: Path) -> AsyncIterator[Instance]:
    """gatekeeper on its own session store, one rule reading cookies, bearer tokens and JWTs."""
    async with serving(echo_app) as upstream:
        rules = [rule("r", "http://<.*>/p", upstream=upstream,
                      authenticators=("cookie_session", "bearer_token", "jwt"))]
        overrides = {"authenticators": {"jwt": {"enabled": True, "config": {"jwks_urls": [f"{upstream}/jwks"]}}}}
        async with running_gatekeeper(access_config(tmp_path, rules, overrides)) as instance:
            yield instance


@pytest.mark.parametrize(("name", "value"), UNDECODABLE, ids=[f"{n}:{v!r}" for n, v in UNDECODABLE])
async def test_undecodable_header_bytes_are_refused_never_a_5xx(edge: Instance, name: str, value: str) -> None:
    for base, target in ((edge.proxy, b"/p"), (edge.api, b"/decisions/p"), (edge.public, b"/sessions/whoami"),
                         (edge.proxy, b"/.auth/sessions/whoami")):
        status, body = await raw_get(base, target, {name: value})
        assert 400 <= status < 500, (base, target, status, body)
        assert body.startswith(b'{"error"'), body
