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
