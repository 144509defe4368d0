"""Admin identity endpoints: create/import, get, list + filters + keyset pagination, PUT, JSON Patch, batch,
delete, credentials, state; every identity body is checked with the official SDK's strict models."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import ory_kratos_client as k
import pytest

from gatekeeper.identity import hashformats
from tests.admin.conftest import PASSWORD, login, person
from tests.support.servers import Instance


def sdk_identity(data: dict[str, Any]) -> k.Identity:
    ident = k.Identity.from_dict(data)
    assert ident is not None and ident.id == data["id"]
    return ident


async def create(admin: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    resp = await admin.post("/admin/identities", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def error_of(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert k.ErrorGeneric.from_dict(body) is not None
    return body["error"]


async def test_create_with_plaintext_password_logs_in_and_hides_the_hash(gk: Instance,
                                                                       admin: httpx.AsyncClient) -> None:
    body = person("Ada@Example.org", credentials={"password": {"config": {"password": PASSWORD}}},
                  metadata_public={"plan": "pro"}, metadata_admin={"crm": 42}, external_id="crm-42")
    resp = await admin.post("/admin/identities", json=body)
    assert resp.status_code == 201
    data = resp.json()
    sdk = sdk_identity(data)
    assert resp.headers["location"].endswith(f"/identities/{data['id']}")
    assert sdk.metadata_public == {"plan": "pro"} and sdk.metadata_admin == {"crm": 42}
    assert sdk.external_id == "crm-42" and sdk.state == "active"
    assert data["credentials"]["password"]["identifiers"] == ["ada@example.org"]
    assert "config" not in data["credentials"]["password"]
    assert data["verifiable_addresses"][0]["value"] == "ada@example.org"
    assert (await login(gk, "ada@example.org")).status_code == 200
    by_external = await admin.get("/admin/identities/by/external/crm-42")
    assert by_external.status_code == 200 and by_external.json()["id"] == data["id"]
    assert (await admin.get("/admin/identities/by/external/nobody")).status_code == 404
    shown = (await admin.get(f"/admin/identities/{data['id']}", params={"include_credential": "password"})).json()
    assert shown["credentials"]["password"]["config"]["hashed_password"].startswith("$2")


async def test_imported_hashes_log_in_with_the_original_password_and_are_rehashed(
        gk: Instance, admin: httpx.AsyncClient) -> None:
    created = {}
    for algo in hashformats.ALGORITHMS:
        hashed = hashformats.make(algo, PASSWORD)
        email = f"{algo}@import.test"
        created[algo] = (email, hashed, (await create(admin, person(email, credentials={
            "password": {"config": {"hashed_password": hashed}}})))["id"])
    for algo, (email, hashed, ident_id) in created.items():
        assert (await login(gk, email, "not-the-password-123")).status_code == 400, algo
        resp = await login(gk, email)
        assert resp.status_code == 200, (algo, resp.text)
        stored = (await admin.get(f"/admin/identities/{ident_id}", params={"include_credential": "password"})).json()
        new_hash = stored["credentials"]["password"]["config"]["hashed_password"]
        assert new_hash != hashed and new_hash.startswith("$2b$04$"), algo  # the configured hasher (bcrypt, cost 4)
        assert (await login(gk, email)).status_code == 200, algo


@pytest.mark.parametrize(("body", "status", "needle"), [
    pytest.param(person("x@y.test", credentials={"password": {"config": {"hashed_password": "$foo$bar"}}}), 400,
                 "unsupported hash format", id="unknown hash format"),
    pytest.param(person("x@y.test", credentials={"password": {"config": {"hashed_password": "$2a$10$short"}}}), 400,
                 "bcrypt hash is malformed", id="malformed bcrypt"),
    pytest.param(person("x@y.test", credentials={"password": {"config": {
        "hashed_password": "$scrypt$ln=3,r=8,p=1$c2FsdA==$aGFzaA=="}}}), 400, "out of bounds", id="bad scrypt N"),
    pytest.param(person("not-an-email"), 400, "traits.email", id="invalid traits"),
    pytest.param({"schema_id": "nope", "traits": {"email": "x@y.test"}}, 400, 'schema "nope" is unknown',
                 id="unknown schema"),
    pytest.param({"traits": {"email": "x@y.test"}}, 400, "schema_id is required", id="no schema"),
    pytest.param(person("x@y.test", state="deleted"), 400, "state must be", id="bad state"),
    pytest.param(person("x@y.test", credentials={"totp": {"config": {}}}), 400, "'totp' is not supported",
                 id="unsupported credential type"),
    pytest.param(person("x@y.test", surprise=1), 400, "Unknown field(s)", id="unknown field"),
    pytest.param(person("x@y.test", credentials={"password": {"config": {}}}), 400, "exactly one of",
                 id="empty password config"),
])
async def test_bad_create_bodies_are_refused_precisely_and_write_nothing(
        admin: httpx.AsyncClient, body: dict[str, Any], status: int, needle: str) -> None:
    resp = await admin.post("/admin/identities", json=body)
    assert resp.status_code == status
    assert needle in error_of(resp)["reason"]
    assert (await admin.get("/admin/identities")).json() == []


async def test_malformed_json_and_non_objects_are_400(admin: httpx.AsyncClient) -> None:
    for content in (b"{", b"[]", b"\"x\"", b"\xff"):
        resp = await admin.post("/admin/identities", content=content, headers={"content-type": "application/json"})
        assert resp.status_code == 400
        assert error_of(resp)["message"]


async def test_duplicate_identifier_is_409_and_the_first_stays_intact(admin: httpx.AsyncClient) -> None:
    first = await create(admin, person("dup@example.org", external_id="e1"))
    resp = await admin.post("/admin/identities", json=person("DUP@example.org"))
    assert resp.status_code == 409 and "already exists" in error_of(resp)["reason"]
    resp = await admin.post("/admin/identities", json=person("other@example.org", external_id="e1"))
    assert resp.status_code == 409
    listed = (await admin.get("/admin/identities")).json()
    assert [i["id"] for i in listed] == [first["id"]]


async def test_list_pages_by_link_header_and_filters(admin: httpx.AsyncClient) -> None:
    ids = sorted([(await create(admin, person(f"user{n}@list.test")))["id"] for n in range(5)])
    seen, url, pages = [], "/admin/identities?page_size=2", 0
    while url:
        resp = await admin.get(url)
        assert resp.status_code == 200
        seen += [sdk_identity(i).id for i in resp.json()]
        pages += 1
        links = {part.split(";")[1].strip(): part.split(";")[0].strip()[1:-1]
                 for part in resp.headers["link"].split(",")}
        url = links.get('rel="next"')
    assert seen == ids and pages == 3
    exact = (await admin.get("/admin/identities", params={"credentials_identifier": "USER3@list.test"})).json()
    assert [i["traits"]["email"] for i in exact] == ["user3@list.test"]
    similar = (await admin.get("/admin/identities",
                               params={"preview_credentials_identifier_similar": "user"})).json()
    assert len(similar) == 5
    by_ids = (await admin.get("/admin/identities", params=[("ids", ids[0]), ("ids", ids[4])])).json()
    assert sorted(i["id"] for i in by_ids) == [ids[0], ids[4]]
    both = await admin.get("/admin/identities", params={"credentials_identifier": "a", "ids": ids[0]})
    assert both.status_code == 400
    for bad in ("0", "501", "x", "²", "١"):  # not ASCII digits: a superscript two, an Arabic-Indic one
        resp = await admin.get("/admin/identities", params={"page_size": bad})
        assert resp.status_code == 400, (bad, resp.text)
    assert (await admin.get("/admin/identities", params={"page_token": "garbage"})).status_code == 400


async def test_put_replaces_traits_and_metadata_and_keeps_credentials(gk: Instance, admin: httpx.AsyncClient) -> None:
    ident = await create(admin, person("put@example.org", metadata_public={"a": 1},
                                       credentials={"password": {"config": {"password": PASSWORD}}}))
    resp = await admin.put(f"/admin/identities/{ident['id']}",
                           json={"schema_id": "default", "state": "active", "traits": {"email": "moved@example.org"}})
    assert resp.status_code == 200
    data = sdk_identity(resp.json())
    assert data.traits == {"email": "moved@example.org"} and data.metadata_public is None
    assert (await login(gk, "moved@example.org")).status_code == 200
    assert (await login(gk, "put@example.org")).status_code == 400
    missing = await admin.put(f"/admin/identities/{ident['id']}", json={"schema_id": "default"})
    assert missing.status_code == 400 and "traits is required" in error_of(missing)["reason"]
    assert (await admin.put(f"/admin/identities/{uuid.uuid4()}", json={
        "schema_id": "default", "state": "active", "traits": {"email": "z@z.test"}})).status_code == 404


async def test_json_patch_applies_and_refuses_protected_or_malformed_patches(admin: httpx.AsyncClient) -> None:
    ident = await create(admin, person("patch@example.org"))
    url = f"/admin/identities/{ident['id']}"
    ok = await admin.patch(url, json=[{"op": "replace", "path": "/traits/email", "value": "patched@example.org"},
                                      {"op": "add", "path": "/metadata_public", "value": {"tier": 2}},
                                      {"op": "replace", "path": "/verifiable_addresses/0/verified", "value": True}])
    assert ok.status_code == 200, ok.text
    data = ok.json()
    assert data["traits"]["email"] == "patched@example.org" and data["metadata_public"] == {"tier": 2}
    for ops, needle in [
        ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], "cannot be patched"),
        ([{"op": "remove", "path": "/credentials/password"}], "cannot be patched"),
        ([{"op": "replace", "path": "/traits/nope/deeper", "value": 1}], "could not be applied"),
        ([{"op": "jump", "path": "/traits"}], "could not be applied"),
        ({"op": "replace"}, "array of operations"),
        ([{"op": "replace", "path": "/traits/email", "value": "not-an-email"}], "traits.email"),
    ]:
        resp = await admin.patch(url, json=ops)
        assert resp.status_code == 400, ops
        assert needle in error_of(resp)["reason"], (ops, resp.text)
    after = (await admin.get(url)).json()
    assert after["traits"]["email"] == "patched@example.org"


async def test_batch_creates_each_item_on_its_own(admin: httpx.AsyncClient) -> None:
    patch_ids = [str(uuid.uuid4()) for _ in range(4)]
    items = [{"create": person("b1@batch.test"), "patch_id": patch_ids[0]},
             {"create": person("broken"), "patch_id": patch_ids[1]},
             {"create": person("b1@batch.test"), "patch_id": patch_ids[2]},
             {"create": person("b2@batch.test", credentials={"password": {"config": {
                 "hashed_password": hashformats.make("sha256", PASSWORD)}}}), "patch_id": patch_ids[3]}]
    resp = await admin.patch("/admin/identities", json={"identities": items})
    assert resp.status_code == 200
    results = resp.json()["identities"]
    assert [r["action"] for r in results] == ["create", "error", "error", "create"]
    assert [r["patch_id"] for r in results] == patch_ids
    assert results[1]["error"]["code"] == 400 and results[2]["error"]["code"] == 409
    listed = (await admin.get("/admin/identities")).json()
    assert sorted(i["traits"]["email"] for i in listed) == ["b1@batch.test", "b2@batch.test"]
    all_bad = await admin.patch("/admin/identities", json={"identities": [{"create": person("b1@batch.test")}]})
    assert all_bad.status_code == 409
    assert (await admin.patch("/admin/identities", json={"identities": {}})).status_code == 400


async def test_delete_identity_and_credentials(gk: Instance, admin: httpx.AsyncClient) -> None:
    ident = await create(admin, person("del@example.org", credentials={
        "password": {"config": {"password": PASSWORD}},
        "oidc": {"config": {"providers": [{"provider": "github", "subject": "12345"}]}}}))
    url = f"/admin/identities/{ident['id']}"
    shown = (await admin.get(url, params=[("include_credential", "oidc")])).json()
    assert shown["credentials"]["oidc"]["identifiers"] == ["github:12345"]
    assert shown["credentials"]["oidc"]["config"]["providers"] == [{"subject": "12345", "provider": "github"}]
    assert (await admin.delete(f"{url}/credentials/oidc")).status_code == 204
    assert (await admin.delete(f"{url}/credentials/oidc")).status_code == 404
    assert (await admin.delete(f"{url}/credentials/code")).status_code == 400
    assert "oidc" not in (await admin.get(url)).json()["credentials"]
    assert (await admin.delete(url)).status_code == 204
    assert (await admin.get(url)).status_code == 404
    assert (await admin.delete(url)).status_code == 404
    assert (await admin.get("/admin/identities/not-a-uuid")).status_code == 404
    assert (await login(gk, "del@example.org")).status_code == 400


async def test_sdk_create_with_verified_address_and_get_by_identity_api(gk: Instance) -> None:
    import asyncio

    api = k.IdentityApi(k.ApiClient(k.Configuration(host=gk.admin)))
    body = k.CreateIdentityBody(
        schema_id="default", traits={"email": "verified@example.org"}, state="active",
        verifiable_addresses=[k.VerifiableIdentityAddress(value="verified@example.org", via="email", verified=True,
                                                          status="completed")],
        credentials=k.IdentityWithCredentials(password=k.IdentityWithCredentialsPassword(
            config=k.IdentityWithCredentialsPasswordConfig(hashed_password=hashformats.make("bcrypt", PASSWORD)))))
    created = await asyncio.to_thread(api.create_identity, create_identity_body=body)
    assert created.verifiable_addresses[0].verified and created.verifiable_addresses[0].status == "completed"
    got = await asyncio.to_thread(api.get_identity, created.id, include_credential=["password"])
    assert got.credentials["password"].config["hashed_password"].startswith("$2b$")
    listed = await asyncio.to_thread(api.list_identities, credentials_identifier="verified@example.org")
    assert [i.id for i in listed] == [created.id]
    patched = await asyncio.to_thread(api.patch_identity, created.id, json_patch=[
        k.JsonPatch(op="replace", path="/metadata_admin", value={"note": "vip"})])
    assert patched.metadata_admin == {"note": "vip"}
    assert (await login(gk, "verified@example.org")).status_code == 200
