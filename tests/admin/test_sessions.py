"""Admin sessions and courier messages (checked with the SDK's IdentityApi/CourierApi), and identity state:
a revoked session or a deactivated identity stops passing whoami (the proxy's session source) at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import ory_kratos_client as k
import pytest
from ory_kratos_client.exceptions import NotFoundException

from tests.admin.conftest import PASSWORD, login, person, started
from tests.support.servers import Instance


async def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


async def whoami(gk: Instance, token: str) -> int:
    async with httpx.AsyncClient(base_url=gk.public) as client:
        return (await client.get("/sessions/whoami", headers={"X-Session-Token": token})).status_code


async def signed_up(admin: httpx.AsyncClient, gk: Instance, email: str, sessions: int = 2) -> tuple[str, list[str]]:
    resp = await admin.post("/admin/identities", json=person(email, credentials={
        "password": {"config": {"password": PASSWORD}}}))
    tokens = []
    for _ in range(sessions):
        done = await login(gk, email)
        assert done.status_code == 200
        tokens.append(done.json()["session_token"])
    return resp.json()["id"], tokens


@pytest.fixture
def identity_api(gk: Instance) -> k.IdentityApi:
    return k.IdentityApi(k.ApiClient(k.Configuration(host=gk.admin)))


async def test_sessions_listed_read_extended_and_revoked(gk: Instance, admin: httpx.AsyncClient,
                                                         identity_api: k.IdentityApi) -> None:
    ident_id, tokens = await signed_up(admin, gk, "s@sessions.test")
    listed = await call(identity_api.list_sessions, expand=["identity"])
    assert len(listed) == 2 and all(s.identity.id == ident_id for s in listed)
    plain = (await admin.get("/admin/sessions")).json()
    assert all("identity" not in s for s in plain)
    mine = await call(identity_api.list_identity_sessions, ident_id)
    assert {s.id for s in mine} == {s.id for s in listed}
    one = await call(identity_api.get_session, listed[0].id, expand=["identity"])
    assert one.active and one.identity.traits == {"email": "s@sessions.test"}
    before = one.expires_at
    await asyncio.sleep(0.01)
    await call(identity_api.extend_session, listed[0].id)
    after = (await call(identity_api.get_session, listed[0].id)).expires_at
    assert after > before
    assert all([await whoami(gk, t) == 200 for t in tokens])  # cached now
    target = next(s for s in listed if s.id == one.id)
    await call(identity_api.disable_session, target.id)
    statuses = sorted([await whoami(gk, t) for t in tokens])
    assert statuses == [200, 401]  # the revoked one is refused at once, the other still passes
    inactive = (await admin.get("/admin/sessions", params={"active": "false"})).json()
    assert [s["id"] for s in inactive] == [target.id]
    with pytest.raises(NotFoundException):
        await call(identity_api.extend_session, target.id)
    await call(identity_api.delete_identity_sessions, ident_id)
    assert await call(identity_api.list_identity_sessions, ident_id) == []
    assert [await whoami(gk, t) for t in tokens] == [401, 401]
    for bad in ("/admin/sessions/not-a-uuid", "/admin/sessions/00000000-0000-4000-8000-000000000000"):
        assert (await admin.get(bad)).status_code == 404
    assert (await admin.get("/admin/sessions", params={"active": "maybe"})).status_code == 400


async def test_admin_session_pages_follow_the_link_header(gk: Instance, admin: httpx.AsyncClient) -> None:
    _, tokens = await signed_up(admin, gk, "p@sessions.test", sessions=5)
    seen, url = [], "/admin/sessions?page_size=2"
    while url:
        resp = await admin.get(url)
        seen += [s["id"] for s in resp.json()]
        url = next((p.split(";")[0].strip()[1:-1] for p in resp.headers["link"].split(",") if 'rel="next"' in p), "")
    assert len(seen) == len(set(seen)) == 5


async def test_deactivated_identity_cannot_log_in_and_its_sessions_stop(gk: Instance, admin: httpx.AsyncClient,
                                                                        identity_api: k.IdentityApi) -> None:
    ident_id, tokens = await signed_up(admin, gk, "off@sessions.test")
    assert [await whoami(gk, t) for t in tokens] == [200, 200]
    resp = await admin.patch(f"/admin/identities/{ident_id}",
                             json=[{"op": "replace", "path": "/state", "value": "inactive"}])
    assert resp.status_code == 200 and resp.json()["state"] == "inactive"
    assert [await whoami(gk, t) for t in tokens] == [401, 401]
    assert (await login(gk, "off@sessions.test")).status_code == 400
    ident = await call(identity_api.get_identity, ident_id)
    assert ident.state == "inactive"
    back = await admin.patch(f"/admin/identities/{ident_id}",
                             json=[{"op": "replace", "path": "/state", "value": "active"}])
    assert back.status_code == 200
    assert (await login(gk, "off@sessions.test")).status_code == 200
    assert [await whoami(gk, t) for t in tokens] == [401, 401]  # revoked sessions stay revoked


async def test_deleting_an_identity_ends_its_sessions(gk: Instance, admin: httpx.AsyncClient,
                                                      identity_api: k.IdentityApi) -> None:
    ident_id, tokens = await signed_up(admin, gk, "gone@sessions.test", sessions=1)
    assert await whoami(gk, tokens[0]) == 200
    await call(identity_api.delete_identity, ident_id)
    assert await whoami(gk, tokens[0]) == 401
    with pytest.raises(NotFoundException):
        await call(identity_api.get_identity, ident_id)


async def test_courier_messages_are_listed_and_read(gk: Instance, admin: httpx.AsyncClient) -> None:
    store = gk.container.store
    for n in range(3):
        await store.add_courier_message(recipient=f"r{n}@mail.test", subject=f"s{n}", body="b", body_html="",
                                        template_type="stub", template_data={})
    courier = k.CourierApi(k.ApiClient(k.Configuration(host=gk.admin)))
    listed = await call(courier.list_courier_messages)
    assert sorted(m.recipient for m in listed) == ["r0@mail.test", "r1@mail.test", "r2@mail.test"]
    one = await call(courier.get_courier_message, listed[0].id)
    assert one.subject == listed[0].subject and isinstance(one.created_at, datetime)
    only = await call(courier.list_courier_messages, recipient="r1@mail.test")
    assert [m.recipient for m in only] == ["r1@mail.test"]
    page = await admin.get("/admin/courier/messages", params={"page_size": 2})
    nxt = next(p.split(";")[0].strip()[1:-1] for p in page.headers["link"].split(",") if 'rel="next"' in p)
    rest = (await admin.get(nxt)).json()
    assert len(page.json()) == 2 and len(rest) == 1
    assert (await admin.get("/admin/courier/messages", params={"status": "lost"})).status_code == 400
    assert (await admin.get("/admin/courier/messages/00000000-0000-4000-8000-000000000000")).status_code == 404


@pytest.mark.postgres
async def test_listing_and_filters_on_postgres(postgres_dsn: str) -> None:
    from tests.support.databases import reset_postgres

    await reset_postgres(postgres_dsn)
    async with started(postgres_dsn) as gk, httpx.AsyncClient(base_url=gk.admin) as admin:
        for n in range(3):
            assert (await admin.post("/admin/identities", json=person(f"pg{n}_x@pg.test"))).status_code == 201
        assert (await admin.post("/admin/identities", json=person("PG0_x@pg.test"))).status_code == 409
        similar = (await admin.get("/admin/identities", params={"preview_credentials_identifier_similar": "pg1_"}))
        assert [i["traits"]["email"] for i in similar.json()] == ["pg1_x@pg.test"]
        first = await admin.get("/admin/identities", params={"page_size": 2})
        nxt = next(p.split(";")[0].strip()[1:-1] for p in first.headers["link"].split(",") if 'rel="next"' in p)
        assert len((await admin.get(nxt)).json()) == 1


async def test_write_path_on_both_databases(dsn: str) -> None:
    """Create, duplicate (nothing half-written), PUT, PATCH, state, delete on SQLite and PostgreSQL."""
    async with started(dsn) as gk, httpx.AsyncClient(base_url=gk.admin) as admin:
        first = (await admin.post("/admin/identities", json=person("both@db.test", credentials={
            "password": {"config": {"password": PASSWORD}}}))).json()
        dup = await admin.post("/admin/identities", json=person("Both@db.test", external_id="x1"))
        assert dup.status_code == 409
        assert (await admin.get("/admin/identities", params={"credentials_identifier": "both@db.test"})).json()[0][
            "id"] == first["id"]
        assert (await admin.post("/admin/identities", json=person("x1@db.test", external_id="x1"))).status_code == 201
        url = f"/admin/identities/{first['id']}"
        put = await admin.put(url, json={"schema_id": "default", "state": "active", "traits": {"email": "x1@db.test"}})
        assert put.status_code == 409  # the address belongs to the other identity: nothing changed
        assert (await admin.get(url)).json()["traits"]["email"] == "both@db.test"
        token = (await login(gk, "both@db.test")).json()["session_token"]
        patch = await admin.patch(url, json=[{"op": "replace", "path": "/state", "value": "inactive"}])
        assert patch.status_code == 200
        async with httpx.AsyncClient(base_url=gk.public) as public:
            who = await public.get("/sessions/whoami", headers={"X-Session-Token": token})
        assert who.status_code == 401
        assert (await admin.delete(url)).status_code == 204
        assert [i["traits"]["email"] for i in (await admin.get("/admin/identities")).json()] == ["x1@db.test"]
