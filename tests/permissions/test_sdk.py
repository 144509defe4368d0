"""Keto's official SDK (`ory-keto-client==25.4.0`) against a running gatekeeper, on SQLite and PostgreSQL: the
read API on the `api` listener, the write API on `admin`, Keto's status codes and errors for bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import ory_keto_client as keto
import pytest
from ory_keto_client.exceptions import ApiException

from gatekeeper.config import Config
from tests.support.servers import Instance, running_gatekeeper

OPL = Path(__file__).parent / "fixtures" / "namespaces.keto.ts"


@pytest.fixture
async def gk(make_config: Callable[..., Config]) -> AsyncIterator[Instance]:
    config = make_config({"namespaces": {"location": f"file://{OPL}"}, "limit": {"max_read_depth": 10}})
    async with running_gatekeeper(config) as instance:
        yield instance


def clients(gk: Instance) -> tuple[keto.RelationshipApi, keto.PermissionApi, keto.RelationshipApi]:
    read = keto.ApiClient(keto.Configuration(host=gk.api))
    write = keto.ApiClient(keto.Configuration(host=gk.admin))
    return keto.RelationshipApi(read), keto.PermissionApi(read), keto.RelationshipApi(write)


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The SDK blocks: run it off the event loop that serves gatekeeper."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def body(**fields: Any) -> keto.CreateRelationshipBody:
    return keto.CreateRelationshipBody(**fields)


def subject_set(namespace: str, object_: str, relation: str) -> keto.SubjectSet:
    return keto.SubjectSet(namespace=namespace, object=object_, relation=relation)


async def seed(write: keto.RelationshipApi) -> None:
    for fields in (
        dict(namespace="Group", object="devs", relation="members", subject_id="ada"),
        dict(namespace="Folder", object="root", relation="viewers", subject_set=subject_set("Group", "devs",
                                                                                            "members")),
        dict(namespace="Folder", object="docs", relation="parents", subject_set=subject_set("Folder", "root", "")),
        dict(namespace="File", object="plan", relation="parents", subject_set=subject_set("Folder", "docs", "")),
    ):
        created = await call(write.create_relationship, create_relationship_body=body(**fields))
        assert created.namespace == fields["namespace"] and created.relation == fields["relation"]


async def test_write_list_check_expand_and_delete_through_the_sdk(gk: Instance) -> None:
    read, permission, write = clients(gk)
    await seed(write)

    listed = await call(read.get_relationships, namespace="Folder")
    assert {(t.object, t.relation) for t in listed.relation_tuples} == {("root", "viewers"), ("docs", "parents")}
    assert listed.next_page_token == ""
    reverse = await call(read.get_relationships, subject_id="ada")
    assert [(t.namespace, t.object) for t in reverse.relation_tuples] == [("Group", "devs")]

    allowed = await call(permission.check_permission, namespace="File", object="plan", relation="view",
                         subject_id="ada")
    assert allowed.allowed is True
    denied = await call(permission.check_permission, namespace="File", object="plan", relation="view",
                        subject_id="bob")
    assert denied.allowed is False
    posted = await call(permission.post_check_permission, post_check_permission_body=keto.PostCheckPermissionBody(
        namespace="File", object="plan", relation="view", subject_id="ada"))
    assert posted.allowed is True
    too_shallow = await call(permission.check_permission, namespace="File", object="plan", relation="view",
                             subject_id="ada", max_depth=2)
    assert too_shallow.allowed is False

    tree = await call(permission.expand_permissions, namespace="Folder", object="root", relation="viewers")
    assert tree.type == "union"
    assert tree.children[0].tuple.subject_set.object == "devs"
    assert tree.children[0].children[0].tuple.subject_id == "ada"

    namespaces = await call(read.list_relationship_namespaces)
    assert [n.name for n in namespaces.namespaces] == ["User", "Group", "Folder", "File"]

    await call(write.delete_relationships, namespace="Group", object="devs", relation="members", subject_id="ada")
    again = await call(permission.check_permission, namespace="File", object="plan", relation="view",
                       subject_id="ada")
    assert again.allowed is False


async def test_check_or_error_mirrors_the_decision_in_the_status(gk: Instance) -> None:
    _, permission, write = clients(gk)
    await seed(write)
    ok = await call(permission.check_permission_or_error, namespace="Group", object="devs", relation="members",
                    subject_id="ada")
    assert ok.allowed is True
    with pytest.raises(ApiException) as denied:
        await call(permission.check_permission_or_error, namespace="Group", object="devs", relation="members",
                   subject_id="bob")
    assert denied.value.status == 403
    posted = await call(permission.post_check_permission_or_error,
                        post_check_permission_or_error_body=keto.PostCheckPermissionOrErrorBody(
                            namespace="Group", object="devs", relation="members", subject_id="ada"))
    assert posted.allowed is True
    async with httpx.AsyncClient() as client:  # what an Oathkeeper remote_json authorizer sends
        resp = await client.post(f"{gk.api}/relation-tuples/check", json={
            "namespace": "Group", "object": "devs", "relation": "members", "subject_id": "bob"})
    assert (resp.status_code, resp.json()) == (403, {"allowed": False})


async def test_batch_check_answers_each_tuple_in_order(gk: Instance) -> None:
    _, permission, write = clients(gk)
    await seed(write)

    def asked(namespace: str, relation: str, subject: str) -> keto.Relationship:
        return keto.Relationship(namespace=namespace, object="plan" if namespace == "File" else "devs",
                                 relation=relation, subject_id=subject)

    batch = await call(permission.batch_check_permission, batch_check_permission_body=keto.BatchCheckPermissionBody(
        tuples=[asked("File", "view", "ada"), asked("File", "view", "bob"), asked("Nope", "x", "ada"),
                asked("File", "nope", "ada")]))
    assert [(r.allowed, r.error) for r in batch.results] == [
        (True, None), (False, None), (False, "Unknown namespace with name 'Nope'."),
        (False, "relation 'nope' does not exist")]
    with pytest.raises(ApiException) as too_many:
        await call(permission.batch_check_permission, batch_check_permission_body=keto.BatchCheckPermissionBody(
            tuples=[asked("File", "view", "ada")] * 11))
    assert too_many.value.status == 400


async def test_pages_follow_the_token_and_a_forged_token_is_400(gk: Instance) -> None:
    read, _, write = clients(gk)
    for i in range(5):
        await call(write.create_relationship, create_relationship_body=body(
            namespace="File", object=f"f{i}", relation="owners", subject_id="ada"))
    seen, token = [], None
    while True:
        page = await call(read.get_relationships, namespace="File", page_size=2, page_token=token)
        seen += [t.object for t in page.relation_tuples]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"f{i}" for i in range(5)]
    async with httpx.AsyncClient() as client:
        forged = await client.get(f"{gk.api}/relation-tuples", params={"namespace": "File", "page_token": "MTAwMC4x"})
        huge = await client.get(f"{gk.api}/relation-tuples", params={"namespace": "File", "page_size": "100000000"})
    assert forged.status_code == 400 and forged.json()["error"]["code"] == 400
    assert huge.status_code == 200 and len(huge.json()["relation_tuples"]) == 5


async def test_opl_syntax_check_answers_keto_s_shape(gk: Instance) -> None:
    read, _, _ = clients(gk)
    fine = await call(read.check_opl_syntax, body=OPL.read_text())
    assert not fine.errors
    broken = await call(read.check_opl_syntax, body="class A implements Namespace {\n  related: { x: B[] }\n}")
    assert [(e.message, e.start.line, e.start.column) for e in broken.errors] == [
        ("namespace 'B' was not declared", 2, 16)]


BAD = [
    pytest.param("GET", "api", "/relation-tuples?namespace=Nope", None, 404, id="list: unknown namespace"),
    pytest.param("GET", "api", "/relation-tuples/expand?namespace=Nope&object=o&relation=r", None, 404,
                 id="expand: unknown namespace"),
    pytest.param("GET", "api", "/relation-tuples/check?namespace=Nope&object=o&relation=r&subject_id=s", None, 403,
                 id="check: unknown namespace is not allowed"),
    pytest.param("GET", "api", "/relation-tuples/check/openapi?namespace=File&object=o&relation=nope&subject_id=s",
                 None, 400, id="check: relation the model lacks"),
    pytest.param("GET", "api", "/relation-tuples/check/openapi?namespace=File&object=o&relation=view", None, 400,
                 id="check: no subject"),
    pytest.param("GET", "api", "/relation-tuples?subject_set.namespace=Group", None, 400,
                 id="list: malformed subject set"),
    pytest.param("PUT", "admin", "/admin/relation-tuples", {"namespace": "File", "object": "o", "relation": "owners",
                                                            "subject_set": {"namespace": "Group"}}, 400,
                 id="create: malformed subject set"),
    pytest.param("PUT", "admin", "/admin/relation-tuples", {"namespace": "Nope", "object": "o", "relation": "r",
                                                            "subject_id": "s"}, 404, id="create: unknown namespace"),
    pytest.param("DELETE", "admin", "/admin/relation-tuples?object=o", None, 400, id="delete: no namespace"),
    pytest.param("PUT", "api", "/admin/relation-tuples", {"namespace": "File", "object": "o", "relation": "owners",
                                                          "subject_id": "s"}, 404, id="write on the read port"),
    pytest.param("DELETE", "api", "/relation-tuples?namespace=File", None, 405, id="delete on the read port"),
    pytest.param("GET", "admin", "/relation-tuples?namespace=File", None, 404, id="read on the write port"),
    pytest.param("POST", "api", "/relation-tuples/check", "not json", 400, id="check: body is not JSON"),
]


@pytest.mark.parametrize(("method", "listener", "path", "payload", "status"), BAD)
async def test_bad_input_gets_keto_s_status_and_error_envelope(gk: Instance, method: str, listener: str, path: str,
                                                               payload: Any, status: int) -> None:
    async with httpx.AsyncClient() as client:
        kwargs: dict[str, Any] = {"content": payload} if isinstance(payload, str) else {"json": payload}
        resp = await client.request(method, gk.urls[listener] + path, **({} if payload is None else kwargs))
    assert resp.status_code == status, resp.text
    if status not in (403,):
        assert resp.json()["error"]["code"] == status


async def test_a_patch_with_one_bad_entry_changes_nothing(gk: Instance) -> None:
    read, _, write = clients(gk)
    await seed(write)
    good = keto.RelationshipPatch(action="insert", relation_tuple=keto.Relationship(
        namespace="Group", object="devs", relation="members", subject_id="bob"))
    drop = keto.RelationshipPatch(action="delete", relation_tuple=keto.Relationship(
        namespace="Group", object="devs", relation="members", subject_id="ada"))
    unknown = keto.RelationshipPatch(action="insert", relation_tuple=keto.Relationship(
        namespace="Nope", object="x", relation="y", subject_id="z"))
    with pytest.raises(ApiException) as refused:
        await call(write.patch_relationships, relationship_patch=[good, drop, unknown])
    assert refused.value.status == 404
    async with httpx.AsyncClient() as client:
        bad_action = await client.patch(f"{gk.admin}/admin/relation-tuples", json=[
            {"action": "insert", "relation_tuple": good.relation_tuple.to_dict()}, {"action": "upsert",
                                                                                  "relation_tuple": {}}])
    assert bad_action.status_code == 400
    members = await call(read.get_relationships, namespace="Group", object="devs", relation="members")
    assert [t.subject_id for t in members.relation_tuples] == ["ada"]
    await call(write.patch_relationships, relationship_patch=[good, drop])
    members = await call(read.get_relationships, namespace="Group", object="devs", relation="members")
    assert [t.subject_id for t in members.relation_tuples] == ["bob"]


async def test_checks_are_counted_and_timed(gk: Instance) -> None:
    _, permission, write = clients(gk)
    await seed(write)
    await call(permission.check_permission, namespace="File", object="plan", relation="view", subject_id="ada")
    await call(permission.check_permission, namespace="File", object="plan", relation="view", subject_id="bob")
    async with httpx.AsyncClient() as client:
        await client.get(f"{gk.api}/relation-tuples/check/openapi",
                         params={"namespace": "File", "object": "plan", "relation": "nope", "subject_id": "ada"})
        metrics = (await client.get(f"{gk.metrics}/metrics")).text
    for result in ("allowed", "denied", "error"):
        assert f'gatekeeper_permission_checks_total{{result="{result}"}} 1.0' in metrics
    assert "gatekeeper_permission_check_duration_seconds_count 3.0" in metrics
