"""Password hashing (argon2id, bcrypt, imported hash formats, re-hash on login), policy and the breached-password
check against a real local HTTP server standing in for the HaveIBeenPwned range API."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import bcrypt
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gatekeeper.config.identity import Argon2, Bcrypt, Hashers
from gatekeeper.identity.passwords import Hasher, too_similar
from gatekeeper.identity.text import Msg
from tests.identity.conftest import PASSWORD
from tests.support.servers import serving

BREACHED = "password-from-a-breach-2024"


def range_api(seen: list[str]) -> Starlette:
    digest = hashlib.sha1(BREACHED.encode()).hexdigest().upper()

    async def pwned(request: Request) -> Response:
        prefix = request.path_params["prefix"]
        seen.append(prefix)
        lines = ["0018A45C4D1DEF81644B54AB7F969B88D65:1", "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2"]
        if prefix == digest[:5]:
            lines.append(f"{digest[5:]}:3303003")
        return PlainTextResponse("\r\n".join(lines))

    return Starlette(routes=[Route("/range/{prefix}", pwned)])


def argon2_hasher(**kw: Any) -> Hasher:
    return Hasher(Hashers(algorithm="argon2", argon2=Argon2(memory="64KB", iterations=1, parallelism=1, **kw)),
                  dev=True)


async def test_argon2id_hashes_verify_and_report_changed_parameters() -> None:
    hasher = argon2_hasher()
    stored = await hasher.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert await hasher.verify(stored, PASSWORD) and not await hasher.verify(stored, PASSWORD + "x")
    assert not hasher.needs_rehash(stored)
    assert argon2_hasher(key_length=16).needs_rehash(stored)


async def test_bcrypt_costs_and_imported_variants() -> None:
    dev = Hasher(Hashers(algorithm="bcrypt", bcrypt=Bcrypt(cost=4)), dev=True)
    prod = Hasher(Hashers(algorithm="bcrypt", bcrypt=Bcrypt(cost=4)), dev=False)
    assert dev.bcrypt_cost == 4 and prod.bcrypt_cost == 12  # Kratos raises costs below 12 outside dev
    stored = await dev.hash(PASSWORD)
    assert stored.startswith("$2b$04$") and await dev.verify(stored, PASSWORD)
    php = "$2y$" + bcrypt.hashpw(b"imported-secret", bcrypt.gensalt(4)).decode()[4:]
    assert await dev.verify(php, "imported-secret")
    assert not await dev.verify("$md5$whatever", "imported-secret")  # unsupported format: refused, not a crash
    assert not await dev.verify(stored, "x" * 100)  # over bcrypt's 72 bytes never matches
    assert dev.needs_rehash(await argon2_hasher().hash(PASSWORD))


async def test_hashing_runs_off_the_event_loop() -> None:
    hasher = Hasher(Hashers(algorithm="bcrypt", bcrypt=Bcrypt(cost=4), threads=1), dev=True)
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = hasher._hash

    def spy(password: str) -> str:
        seen.append(threading.get_ident())
        return original(password)

    hasher._hash = spy  # type: ignore[method-assign]
    await hasher.hash(PASSWORD)
    assert seen and seen[0] != loop_thread
    assert hasher.limiter.total_tokens == 1


@pytest.mark.parametrize(("identifier", "password", "similar"), [
    ("ada@example.com", "ada@example.com", True),
    ("ada@example.com", "ADA@EXAMPLE.COM1", True),
    ("ada@example.com", "adaexample", True),
    ("ada@example.com", PASSWORD, False),
])
def test_identifier_similarity(identifier: str, password: str, similar: bool) -> None:
    assert too_similar(identifier, password) is similar


async def test_breached_passwords_are_refused_via_the_range_api(start: Callable[..., Any]) -> None:
    seen: list[str] = []
    async with serving(range_api(seen)) as hibp:
        cfg = {"haveibeenpwned_enabled": True, "haveibeenpwned_host": hibp}
        async with start({"selfservice": {"methods": {"password": {"config": cfg}}}}) as gk:
            async with httpx.AsyncClient(base_url=gk.public) as c:
                flow = (await c.get("/self-service/registration/api")).json()
                body = {"method": "password", "traits": {"email": "ada@example.com"}}
                url = f"/self-service/registration?flow={flow['id']}"
                resp = await c.post(url, json={**body, "password": BREACHED})
                password = next(n for n in resp.json()["ui"]["nodes"] if n["attributes"]["name"] == "password")
                assert [m["id"] for m in password["messages"]] == [Msg.ERR_PASSWORD_BREACHED]
                assert password["messages"][0]["context"]["breaches"] == 3303003
                ok = await c.post(url, json={**body, "password": PASSWORD})
                assert ok.status_code == 200
    digest = hashlib.sha1(BREACHED.encode()).hexdigest().upper()
    assert seen[0] == digest[:5] and all(len(p) == 5 for p in seen)  # only the 5-character prefix leaves


async def test_breach_check_outage_fails_closed_only_when_asked(start: Callable[..., Any]) -> None:
    cfg = {"haveibeenpwned_enabled": True, "haveibeenpwned_host": "http://127.0.0.1:9",
           "ignore_network_errors": False}
    async with start({"selfservice": {"methods": {"password": {"config": cfg}}}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/registration/api")).json()
            resp = await c.post(f"/self-service/registration?flow={flow['id']}", json={
                "method": "password", "password": PASSWORD, "traits": {"email": "ada@example.com"}})
            assert resp.status_code == 400
            password = next(n for n in resp.json()["ui"]["nodes"] if n["attributes"]["name"] == "password")
            assert [m["id"] for m in password["messages"]] == [Msg.ERR_VALIDATION_PASSWORD_POLICY]


async def test_login_rehashes_when_the_configured_algorithm_changed(sqlite_dsn: str,
                                                                   start: Callable[..., Any]) -> None:
    async with start() as gk:  # bcrypt
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/registration/api")).json()
            done = await c.post(f"/self-service/registration?flow={flow['id']}", json={
                "method": "password", "password": PASSWORD, "traits": {"email": "ada@example.com"}})
            identity_id = done.json()["identity"]["id"]
        ident = await gk.container.store.identity(identity_id)
        assert ident.credentials["password"].config["hashed_password"].startswith("$2b$")
    argon = {"hashers": {"algorithm": "argon2", "argon2": {"memory": "64KB", "parallelism": 1}}}
    async with start(argon) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/login/api")).json()
            ok = await c.post(f"/self-service/login?flow={flow['id']}", json={
                "method": "password", "identifier": "ada@example.com", "password": PASSWORD})
            assert ok.status_code == 200
        ident = await gk.container.store.identity(identity_id)
        assert ident.credentials["password"].config["hashed_password"].startswith("$argon2id$")
