"""Identity, session and flow persisters behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gatekeeper.errors import UniqueViolation
from gatekeeper.store import Store
from gatekeeper.store.flows import FlowRecord
from gatekeeper.store.identities import AddressRecord, CredentialRecord, IdentityRecord
from gatekeeper.store.sessions import SessionRecord


def _identity(email: str) -> IdentityRecord:
    now = datetime.now(UTC)
    ident = IdentityRecord(id=str(uuid.uuid4()), schema_id="default", state="active",
                           traits={"email": email, "name": {"first": "Ada"}}, created_at=now, updated_at=now,
                           metadata_public={"plan": "free"})
    ident.credentials["password"] = CredentialRecord(
        id=str(uuid.uuid4()), type="password", identifiers=[email], config={"hashed_password": "$2b$04$x"},
        created_at=now, updated_at=now)
    ident.addresses.append(AddressRecord(id=str(uuid.uuid4()), kind="verifiable", via="email", value=email,
                                         created_at=now, updated_at=now))
    return ident


def _session(identity_id: str, token_hash: str) -> SessionRecord:
    now = datetime.now(UTC)
    return SessionRecord(id=str(uuid.uuid4()), identity_id=identity_id, token_hash=token_hash,
                         logout_token_hash="lo-" + token_hash, active=True, aal="aal1", issued_at=now,
                         authenticated_at=now, expires_at=now + timedelta(hours=1), updated_at=now,
                         authentication_methods=[{"method": "password", "aal": "aal1"}],
                         devices=[{"id": "d1", "ip_address": "127.0.0.1"}])


async def test_identity_round_trips_and_is_found_by_its_identifier(store: Store) -> None:
    ident = _identity("ada@example.com")
    await store.insert_identity(ident)
    found = await store.identity_by_identifier("password", "ada@example.com")
    assert found is not None and found.id == ident.id
    assert found.traits == {"email": "ada@example.com", "name": {"first": "Ada"}}
    assert found.metadata_public == {"plan": "free"}
    assert found.credentials["password"].identifiers == ["ada@example.com"]
    assert found.credentials["password"].config == {"hashed_password": "$2b$04$x"}
    assert [(a.kind, a.value, a.verified, a.status) for a in found.addresses] == [
        ("verifiable", "ada@example.com", False, "pending")]
    assert found.created_at.tzinfo is not None
    assert await store.identity_by_identifier("password", "nobody@example.com") is None
    assert (await store.identity(ident.id)).id == ident.id  # type: ignore[union-attr]


async def test_a_taken_identifier_is_a_unique_violation_and_nothing_is_half_written(store: Store) -> None:
    await store.insert_identity(_identity("ada@example.com"))
    second = _identity("ada@example.com")
    with pytest.raises(UniqueViolation):
        await store.insert_identity(second)
    assert await store.identity(second.id) is None


async def test_credential_config_updates(store: Store) -> None:
    ident = _identity("ada@example.com")
    await store.insert_identity(ident)
    await store.update_credential_config(ident.id, "password", {"hashed_password": "$argon2id$new"},
                                         datetime.now(UTC))
    found = await store.identity(ident.id)
    assert found is not None and found.credentials["password"].config == {"hashed_password": "$argon2id$new"}


async def test_sessions_are_found_by_token_hash_and_revoked(store: Store) -> None:
    ident = _identity("ada@example.com")
    await store.insert_identity(ident)
    first, second, third = (_session(ident.id, h) for h in ("h1", "h2", "h3"))
    for s in (first, second, third):
        await store.insert_session(s)
    found = await store.session_by_token_hash("h1")
    assert found is not None and found.id == first.id and found.active
    assert found.authentication_methods == [{"method": "password", "aal": "aal1"}]
    assert (await store.session_by_logout_token_hash("lo-h2")).id == second.id  # type: ignore[union-attr]
    assert await store.session_by_token_hash("unknown") is None
    now = datetime.now(UTC)
    assert await store.revoke_session(second.id, now, identity_id="someone-else") is None
    assert await store.revoke_session(second.id, now, identity_id=ident.id) == "h2"
    assert sorted(await store.revoke_other_sessions(ident.id, first.id, now)) == ["h3"]
    states = {s.id: s.active for s in await store.sessions_of_identity(ident.id)}
    assert states == {first.id: True, second.id: False, third.id: False}


async def test_flows_and_flow_errors_round_trip(store: Store) -> None:
    now = datetime.now(UTC)
    flow = FlowRecord(id=str(uuid.uuid4()), kind="login", type="browser", state="choose_method", csrf_hash="c",
                      issued_at=now, expires_at=now + timedelta(hours=1), updated_at=now,
                      body={"ui": {"nodes": []}}, internal={"screen": "credentials"})
    await store.insert_flow(flow)
    assert await store.flow("registration", flow.id) is None
    flow.body["ui"]["messages"] = [{"id": 4000006}]
    flow.state = "passed_challenge"
    await store.update_flow(flow)
    found = await store.flow("login", flow.id)
    assert found is not None and found.body["ui"]["messages"] == [{"id": 4000006}]
    assert found.state == "passed_challenge" and found.internal == {"screen": "credentials"}
    assert await store.delete_expired_flows(now + timedelta(hours=2)) == 1
    await store.insert_flow_error("e1", {"code": 500}, now)
    assert (await store.flow_error("e1"))[0] == {"code": 500}  # type: ignore[index]
    assert await store.flow_error("nope") is None
    await store.delete_expired_flows(now - timedelta(minutes=1))
    assert await store.flow_error("e1") is not None  # younger than the cut-off: kept
    await store.delete_expired_flows(now + timedelta(minutes=1))
    assert await store.flow_error("e1") is None
