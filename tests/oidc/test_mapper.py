"""Claims mappers as Kratos: Jsonnet over `std.extVar('claims')`; a broken mapper is the operator's error (500),
never a silent account without traits; mappers cannot read files."""

from __future__ import annotations

import httpx
import pytest

from gatekeeper.identity.oidc.mapper import Mapper, MapperError


async def test_the_default_mapper_takes_only_an_email_not_marked_unverified() -> None:
    async with httpx.AsyncClient() as http:
        mapper = await Mapper.load("", http)
    assert (await mapper.evaluate({"sub": "1", "email": "a@example.com"})).traits == {"email": "a@example.com"}
    assert (await mapper.evaluate({"sub": "1", "email": "a@example.com", "email_verified": True})).traits \
        == {"email": "a@example.com"}
    assert (await mapper.evaluate({"sub": "1", "email": "a@example.com", "email_verified": False})).traits == {}


@pytest.mark.parametrize(("source", "reason"), [
    ("{identity: {}}", "did not return an object for key identity.traits"),
    ("{identity: {traits: 'x'}}", "did not return an object for key identity.traits"),
    ("error 'no email'", "mapper failed"),
    ("import '/etc/passwd'", "mapper failed"),
])
async def test_broken_mappers_fail_the_sign_in_as_server_errors(source: str, reason: str) -> None:
    with pytest.raises(MapperError) as caught:
        await Mapper(source, "test.jsonnet").evaluate({"sub": "1"})
    assert caught.value.status == 500 and reason in caught.value.reason
    assert "root:" not in caught.value.reason  # nothing of the file leaks


async def test_metadata_and_verified_addresses_come_through() -> None:
    mapper = Mapper("local c = std.extVar('claims'); {identity: {traits: {email: c.email}, metadata_public: "
                    "{sub: c.sub}, metadata_admin: {raw: c.raw_claims.x}, verified_addresses: [{via: 'email', "
                    "value: c.email}]}}", "m.jsonnet")
    mapped = await mapper.evaluate({"sub": "s", "email": "e@example.com", "raw_claims": {"x": 1}})
    assert mapped.metadata_public == {"sub": "s"} and mapped.metadata_admin == {"raw": 1}
    assert mapped.verified_addresses == [{"via": "email", "value": "e@example.com"}]


async def test_the_mapper_sees_the_identity_it_updates_as_kratos_passes_it() -> None:
    """`std.extVar('identity')`: empty objects at registration, the stored traits and metadata at a sign-in
    (so a mapper can keep what the provider does not tell); metadata the mapper leaves out is not `given`."""
    mapper = Mapper("local c = std.extVar('claims'); local i = std.extVar('identity'); {identity: {traits: "
                    "{email: c.email}, metadata_public: i.metadata_public + {groups: c.raw_claims.groups}}}",
                    "m.jsonnet")
    claims = {"sub": "s", "email": "e@example.com", "raw_claims": {"groups": ["a"]}}
    first = await mapper.evaluate(claims)
    assert first.metadata_public == {"groups": ["a"]} and first.given == {"traits", "metadata_public"}
    again = await mapper.evaluate(claims, {"traits": {"email": "e@example.com"}, "metadata_public": {"plan": "pro"},
                                           "metadata_admin": None})
    assert again.metadata_public == {"plan": "pro", "groups": ["a"]}
