"""Sessions: the cached SessionSource the proxy uses, credentials from header/cookie/Bearer, cookie attributes,
the API mounted under the proxy prefix, and the whole flow on PostgreSQL as well as SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gatekeeper.identity.revocation import RevocationBroadcast
from gatekeeper.identity.sessions import Sessions
from tests.identity.conftest import PASSWORD, started
from tests.support.servers import Instance


async def register(base: str, email: str = "ada@example.com") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as c:
        flow = (await c.get("/self-service/registration/api")).json()
        resp = await c.post(f"/self-service/registration?flow={flow['id']}", json={
            "method": "password", "password": PASSWORD, "traits": {"email": email}})
        assert resp.status_code == 200, resp.text
        return resp.json()


class CountingLookups:
    """Counts store round trips of the session lookup (a spy around the real store method)."""

    def __init__(self, sessions: Sessions) -> None:
        self.calls = 0
        store = sessions.store
        real = store.session_by_token_hash

        async def counted(digest: str) -> Any:
            self.calls += 1
            await asyncio.sleep(0.01)
            return await real(digest)

        store.session_by_token_hash = counted  # type: ignore[method-assign]


async def test_warm_cache_needs_no_store_and_misses_are_single_flight(gk: Instance) -> None:
    token = (await register(gk.public))["session_token"]
    source = gk.container.identity.ctx.sessions
    assert isinstance(source, Sessions)
    spy = CountingLookups(source)
    results = await asyncio.gather(*(source.session_for_token(token) for _ in range(20)))
    assert spy.calls == 1 and all(r is not None and r["active"] for r in results)
    for _ in range(10):
        assert (await source.session_for_token(token)) is not None
    assert spy.calls == 1
    cookie = source.cookie_value(token)
    assert (await source.session_for_token(cookie))["id"] == results[0]["id"]  # type: ignore[index]
    assert spy.calls == 1  # cookie and token share one cache entry


async def test_forged_or_malformed_credentials_cost_no_store_round_trip(gk: Instance) -> None:
    source = gk.container.identity.ctx.sessions
    assert isinstance(source, Sessions)
    spy = CountingLookups(source)
    token = (await register(gk.public))["session_token"]
    for bad in ("", "garbage", "ory_st_short", f"{token}.forged-mac", "x" * 10_000):
        assert await source.session_for_token(bad) is None
    assert spy.calls == 0


async def test_logout_on_this_process_drops_the_cached_session_at_once(gk: Instance) -> None:
    token = (await register(gk.public))["session_token"]
    source = gk.container.identity.ctx.sessions
    assert source is not None and await source.session_for_token(token) is not None
    async with httpx.AsyncClient(base_url=gk.public) as c:
        resp = await c.request("DELETE", "/self-service/logout/api", json={"session_token": token})
        assert resp.status_code == 204
    assert await source.session_for_token(token) is None


@pytest.mark.parametrize("how", ["x-session-token", "bearer", "cookie"])
async def test_whoami_accepts_every_credential_source(gk: Instance, how: str) -> None:
    token = (await register(gk.public))["session_token"]
    source = gk.container.identity.ctx.sessions
    assert isinstance(source, Sessions)
    headers = {"x-session-token": {"X-Session-Token": token}, "bearer": {"Authorization": f"Bearer {token}"},
               "cookie": {"Cookie": f"ory_kratos_session={source.cookie_value(token)}"}}[how]
    async with httpx.AsyncClient(base_url=gk.public) as c:
        resp = await c.get("/sessions/whoami", headers=headers)
        assert resp.status_code == 200 and resp.json()["identity"]["traits"]["email"] == "ada@example.com"
        raw_cookie = await c.get("/sessions/whoami", headers={"Cookie": f"ory_kratos_session={token}.AAAA"})
        assert raw_cookie.status_code == 401


async def test_cookies_are_secure_outside_dev_and_configurable(start: Callable[..., Any]) -> None:
    cookie = {"name": "my_session", "path": "/", "same_site": "Strict", "persistent": False}
    async with start({"dev": False, "session": {"cookie": cookie}}) as gk:
        async with httpx.AsyncClient(base_url=gk.public) as c:
            init = await c.get("/self-service/login/browser", headers={"Accept": "application/json"})
            assert "Secure" in init.headers["set-cookie"]
            flow = init.json()
            csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"]
                        if n["attributes"]["name"] == "csrf_token")
            await register(gk.public)
            name, value = init.headers["set-cookie"].split(";")[0].split("=", 1)
            headers = {"Cookie": f"{name}={value}", "Accept": "application/json"}
            resp = await c.post(flow["ui"]["action"], headers=headers,
                                json={"method": "password", "identifier": "ada@example.com", "password": PASSWORD,
                                      "csrf_token": csrf})
            assert resp.status_code == 200
            session_cookie = next(h for h in resp.headers.get_list("set-cookie") if h.startswith("my_session="))
            assert "Secure" in session_cookie and "SameSite=strict" in session_cookie
            assert "Max-Age" not in session_cookie  # persistent: false -> a browser-session cookie


async def test_the_api_works_under_the_proxy_prefix_with_urls_from_the_base_url(sqlite_dsn: str) -> None:
    async with started(sqlite_dsn, base="proxy") as gk:
        base = f"{gk.proxy}/.auth"
        async with httpx.AsyncClient() as c:
            init = await c.get(f"{base}/self-service/registration/browser")
            assert init.status_code == 303 and init.headers["location"].startswith(f"{base}/ui/registration?flow=")
            page = await c.get(init.headers["location"])
            assert page.status_code == 200 and f'action="{base}/self-service/registration?flow=' in page.text
            assert f'href="{base}/ui/static/style.css"' in page.text
            css = await c.get(f"{base}/ui/static/style.css")
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        done = await register(base)
        assert done["identity"]["schema_url"] == f"{base}/schemas/ZGVmYXVsdA"
        async with httpx.AsyncClient() as c:
            me = await c.get(f"{base}/sessions/whoami", headers={"X-Session-Token": done["session_token"]})
            assert me.status_code == 200


@pytest.mark.postgres
async def test_registration_login_and_sessions_on_both_databases(dsn: str) -> None:
    async with started(dsn) as gk:
        first = await register(gk.public)
        async with httpx.AsyncClient(base_url=gk.public) as c:
            flow = (await c.get("/self-service/login/api")).json()
            login = await c.post(f"/self-service/login?flow={flow['id']}", json={
                "method": "password", "identifier": "ADA@example.com", "password": PASSWORD})
            assert login.status_code == 200
            token = login.json()["session_token"]
            others = await c.get("/sessions", headers={"X-Session-Token": token})
            assert [s["id"] for s in others.json()] == [first["session"]["id"]]
            revoked = await c.delete(f"/sessions/{first['session']['id']}", headers={"X-Session-Token": token})
            assert revoked.status_code == 204
            gone = await c.get("/sessions/whoami", headers={"X-Session-Token": first["session_token"]})
            assert gone.status_code == 401
            dup = await c.get("/self-service/registration/api")
            again = await c.post(f"/self-service/registration?flow={dup.json()['id']}", json={
                "method": "password", "password": PASSWORD, "traits": {"email": " Ada@Example.COM"}})
            assert again.status_code == 400 and again.json()["ui"]["messages"][0]["id"] == 4000007


@pytest.mark.postgres
async def test_a_logout_on_one_replica_reaches_the_cache_of_another(postgres_dsn: str) -> None:
    from tests.support.databases import reset_postgres

    await reset_postgres(postgres_dsn)
    long_ttl = {"session": {"cache_ttl": "60s"}}  # so only the announcement can explain a drop
    async with started(postgres_dsn, long_ttl) as one, started(postgres_dsn, long_ttl) as two:
        token = (await register(one.public))["session_token"]
        cache_two = two.container.identity.ctx.sessions
        assert cache_two is not None and await cache_two.session_for_token(token) is not None  # warm on two
        broadcast = next(s for s in two.container.services if type(s).__name__ == "RevocationBroadcast")
        await asyncio.wait_for(broadcast.ready.wait(), 10)  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=one.public) as c:
            resp = await c.request("DELETE", "/self-service/logout/api", json={"session_token": token})
            assert resp.status_code == 204
        for _ in range(100):  # the announcement arrives asynchronously
            if await cache_two.session_for_token(token) is None:
                break
            await asyncio.sleep(0.02)
        assert await cache_two.session_for_token(token) is None


async def test_an_unreachable_store_denies_with_503_never_500(gk: Instance) -> None:
    from gatekeeper.errors import StoreUnavailable

    token = (await register(gk.public))["session_token"]
    async with httpx.AsyncClient(base_url=gk.public) as c:
        flow = (await c.get("/self-service/login/api")).json()
        await gk.container.store.close()  # the database goes away
        source = gk.container.identity.ctx.sessions
        assert source is not None
        with pytest.raises(StoreUnavailable):
            await source.session_for_token(token)  # the proxy's authenticators deny on this
        who = await c.get("/sessions/whoami", headers={"X-Session-Token": token})
        assert who.status_code == 503 and who.json()["error"]["code"] == 503
        assert "sqlite" not in who.text.lower()  # driver details stay in the logs
        login = await c.post(f"/self-service/login?flow={flow['id']}", json={
            "method": "password", "identifier": "ada@example.com", "password": PASSWORD})
        assert login.status_code == 503
        page = await c.get("/self-service/login/browser")
        assert page.status_code == 503 and "Something went wrong" in page.text  # the HTML error page itself


async def test_a_full_cache_drops_its_least_recently_used_session_not_everything(start: Callable[..., Any]) -> None:
    """`session.cache_size` bounds the cache; past it, only the least recently used lookup needs the store again."""
    async with start({"session": {"cache_size": 3}}) as gk:
        tokens = [(await register(gk.public, f"user{i}@example.com"))["session_token"] for i in range(4)]
        source = gk.container.identity.ctx.sessions
        broadcast = next(s for s in gk.container.services if isinstance(s, RevocationBroadcast))
        await asyncio.wait_for(broadcast.ready.wait(), 10)  # its first poll empties the cache (fail closed)
        for token in tokens[:3]:
            assert await source.session_for_token(token) is not None
        assert await source.session_for_token(tokens[0]) is not None  # the first is now the most recently used
        spy = CountingLookups(source)
        assert await source.session_for_token(tokens[3]) is not None  # a fourth: the least recently used goes
        assert spy.calls == 1
        for token in (tokens[0], tokens[2], tokens[3]):
            assert (await source.session_for_token(token))["identity"]["traits"]["email"]  # type: ignore[index]
        assert spy.calls == 1  # the others stayed cached
        assert await source.session_for_token(tokens[1]) is not None
        assert spy.calls == 2  # the one that was dropped is read again


async def test_whoami_from_the_cache_is_the_session_as_stored(gk: Instance) -> None:
    """The cache keeps sessions compressed: what whoami serves from it is the same JSON, unusual traits too."""
    token = (await register(gk.public, "zoë.ünïcode+tag@example.com"))["session_token"]
    async with httpx.AsyncClient(base_url=gk.public, headers={"X-Session-Token": token}) as c:
        cold, warm = (await c.get("/sessions/whoami")).json(), (await c.get("/sessions/whoami")).json()
    assert cold == warm and warm["identity"]["traits"]["email"] == "zoë.ünïcode+tag@example.com"
