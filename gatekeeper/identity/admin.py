"""Admin identity service: create/import, replace, JSON-Patch, delete, state, and session administration.

Kratos' admin semantics (its admin API reference, docs/admin.md): bodies are validated completely before anything is
written, each identity is written in one transaction, a taken identifier is a 409, an unknown hash
format a 400. Deactivating or deleting an identity revokes its sessions on every replica.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonpatch

from gatekeeper.errors import BadRequest, Conflict, NotFound, UniqueViolation
from gatekeeper.identity import hashformats
from gatekeeper.identity.context import IdentityContext
from gatekeeper.identity.schemas import IdentitySchema, normalise_identifier
from gatekeeper.store.identities import CredentialRecord, IdentityRecord
from gatekeeper.store.sessions import SessionRecord

STATES = ("active", "inactive")
IMPORTABLE = ("password", "oidc", "saml")
UNDELETABLE = ("passkey", "code")
_PROTECTED = ("/id", "/credentials", "/state_changed_at", "/created_at", "/updated_at", "/schema_url")
_BODY_KEYS = {"schema_id", "traits", "state", "credentials", "verifiable_addresses", "recovery_addresses",
              "metadata_public", "metadata_admin", "external_id", "organization_id"}


class DuplicateIdentity(Conflict):
    id = "conflict"
    default_message = "An identity with the same identifier already exists."


def _bad(reason: str) -> BadRequest:
    return BadRequest(reason=reason)


def parse_uuid(value: str, what: str = "identity") -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(reason=f"The {what} could not be found: {value!r} is not a UUID.") from None


def page_token(value: str | None) -> str | None:
    """The id a page continues after; 400 for a token we did not hand out."""
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise BadRequest(reason="page_token is not valid: use the one from the Link header.") from None


@dataclass(frozen=True)
class Page:
    size: int
    token: str | None


class AdminService:
    """What the admin API and the admin UI call; never sees an HTTP request."""

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    # -- reading -----------------------------------------------------------------------------------------

    async def get(self, identity_id: str) -> IdentityRecord:
        ident = await self.ctx.store.identity(parse_uuid(identity_id))
        if ident is None:
            raise NotFound(reason="Unable to locate the resource: no identity with this id exists.")
        return ident

    async def by_external_id(self, external_id: str) -> IdentityRecord:
        found = await self.ctx.store.identity_id_by_external_id(external_id)
        if found is None:
            raise NotFound(reason="Unable to locate the resource: no identity has this external_id.")
        return await self.get(found)

    async def list_identities(self, page: Page, *, identifier: str | None = None, similar: str | None = None,
                   ids: list[str] | None = None) -> list[IdentityRecord]:
        if sum(x is not None for x in (identifier, similar, ids)) > 1:
            raise _bad("credentials_identifier, preview_credentials_identifier_similar and ids cannot be combined.")
        after = page_token(page.token)
        return await self.ctx.store.list_identities(
            limit=page.size, after=after, ids=[parse_uuid(i) for i in ids] if ids is not None else None,
            identifier=normalise_identifier(identifier) if identifier is not None else None,
            similar=normalise_identifier(similar) if similar is not None else None)

    def to_json(self, ident: IdentityRecord, include: tuple[str, ...] = ()) -> dict[str, Any]:
        out = self.ctx.identities.to_json(ident, admin=True)
        for cred_type in include:
            cred = ident.credentials.get(cred_type)
            if cred is not None:
                out["credentials"][cred_type]["config"] = _declassified(cred)
        return out

    # -- writing -----------------------------------------------------------------------------------------

    async def create(self, body: Any) -> IdentityRecord:
        """Validate, build and insert one identity (atomically); 400/409 with a precise reason."""
        ident = await self.build(body)
        try:
            await self.ctx.identities.create(ident)
        except UniqueViolation:
            raise DuplicateIdentity(reason="An identity with the same credential identifier, address or external_id "
                                           "already exists.") from None
        return ident

    async def build(self, body: Any, existing: IdentityRecord | None = None) -> IdentityRecord:
        """An identity record from a create/update body (not stored); existing credentials are kept on update."""
        if not isinstance(body, dict):
            raise _bad("The request body must be a JSON object.")
        unknown = sorted(set(body) - _BODY_KEYS)
        if unknown:
            raise _bad(f"Unknown field(s) in the identity body: {', '.join(unknown)}.")
        schema = self._schema(body.get("schema_id"))
        traits = body.get("traits")
        if not isinstance(traits, dict):
            raise _bad("traits must be a JSON object.")
        problems = schema.validate(traits)
        if problems:
            raise _bad("The traits do not match the identity schema: " +
                       "; ".join(f"{node}: {msg['text']}" for node, msg in problems))
        state = body.get("state", "active" if existing is None else None)
        if state not in STATES:
            raise _bad('state must be "active" or "inactive".')
        external_id = body.get("external_id")
        if external_id is not None and (not isinstance(external_id, str) or not external_id):
            raise _bad("external_id must be a non-empty string.")
        creds = await self._credentials(body.get("credentials"))
        ident = self.ctx.identities.new(schema, traits, {"password": {}} if schema.identifiers(traits) else {})
        now = ident.created_at
        if existing is not None:
            ident.id, ident.created_at = existing.id, existing.created_at
            ident.state_changed_at = existing.state_changed_at if state == existing.state else now
            kept = {t: c for t, c in existing.credentials.items() if t not in creds}
            for cred_type, cred in kept.items():
                if cred_type == "password":
                    ident.credentials["password"].config = cred.config
                    ident.credentials["password"].id = cred.id
                else:
                    ident.credentials[cred_type] = cred
        for cred_type, (config, identifiers) in creds.items():
            if cred_type == "password" and "password" in ident.credentials:
                ident.credentials["password"].config = config
            else:
                ident.credentials[cred_type] = CredentialRecord(
                    id=str(uuid.uuid4()), type=cred_type, identifiers=identifiers if cred_type != "password" else
                    schema.identifiers(traits), config=config, created_at=now, updated_at=now)
        ident.state, ident.external_id = state, external_id
        ident.metadata_public, ident.metadata_admin = body.get("metadata_public"), body.get("metadata_admin")
        _keep_verification(ident, body, existing)
        return ident

    def _schema(self, schema_id: Any) -> IdentitySchema:
        if not isinstance(schema_id, str) or not schema_id:
            raise _bad("schema_id is required.")
        schema = self.ctx.schemas.get(schema_id)
        if schema is None:
            raise _bad(f'The identity schema "{schema_id}" is unknown: configure it under identity.schemas.')
        return schema

    async def _credentials(self, raw: Any) -> dict[str, tuple[dict[str, Any], list[str]]]:
        """Imported credentials: type -> (stored config, identifiers). Passwords hashed, hashes checked."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise _bad("credentials must be a JSON object keyed by credential type.")
        out: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for cred_type, entry in raw.items():
            if cred_type not in IMPORTABLE:
                raise _bad(f"Importing credentials of type {cred_type!r} is not supported (supported: "
                           f"{', '.join(IMPORTABLE)}).")
            config = entry.get("config") if isinstance(entry, dict) else None
            if not isinstance(config, dict):
                raise _bad(f"credentials.{cred_type}.config must be a JSON object.")
            out[cred_type] = await (self._password(config) if cred_type == "password" else
                                    _providers(cred_type, config))
        return out

    async def _password(self, config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        plain, hashed = config.get("password"), config.get("hashed_password")
        if (plain is None) == (hashed is None):
            raise _bad("credentials.password.config needs exactly one of password or hashed_password.")
        if plain is not None:
            if not isinstance(plain, str) or not plain:
                raise _bad("credentials.password.config.password must be a non-empty string.")
            stored = await self.ctx.hasher.hash(plain)
        else:
            if not isinstance(hashed, str):
                raise _bad("credentials.password.config.hashed_password must be a string.")
            try:
                hashformats.check_importable(hashed)
            except hashformats.UnsupportedHash as exc:
                raise _bad(f"credentials.password.config.hashed_password: {exc}.") from None
            stored = hashed
        out: dict[str, Any] = {"hashed_password": stored}
        if config.get("use_password_migration_hook") is True:
            out["use_password_migration_hook"] = True
        return out, []

    async def replace(self, identity_id: str, body: Any) -> IdentityRecord:
        """PUT: traits, state and metadata replaced; credentials in the body imported, others kept."""
        existing = await self.get(identity_id)
        if isinstance(body, dict):
            for key in ("schema_id", "traits", "state"):
                if key not in body:
                    raise _bad(f"{key} is required.")
        ident = await self.build(body, existing)
        await self._write(ident, existing)
        return ident

    async def patch(self, identity_id: str, ops: Any) -> IdentityRecord:
        """RFC 6902 JSON Patch applied to the identity's admin JSON (protected paths refused)."""
        existing = await self.get(identity_id)
        if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
            raise _bad("The body must be a JSON Patch: an array of operations.")
        for op in ops:
            for key in ("path", "from"):
                path = op.get(key)
                if isinstance(path, str) and any(path == p or path.startswith(p + "/") for p in _PROTECTED):
                    raise _bad(f"The path {path!r} cannot be patched.")
        doc = self.to_json(existing)
        for key in ("metadata_admin", "external_id"):  # omitted when empty, but patchable with "replace"
            doc.setdefault(key, None)
        try:
            patched = jsonpatch.JsonPatch(ops).apply(doc)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as exc:
            raise _bad(f"The JSON Patch could not be applied: {exc}.") from None
        body = {k: v for k, v in patched.items() if k in _BODY_KEYS and k != "credentials"}
        for key in ("organization_id", "external_id"):
            if body.get(key) is None:
                body.pop(key, None)
        ident = await self.build(body, existing)
        await self._write(ident, existing)
        return ident

    async def set_state(self, identity_id: str, state: str) -> IdentityRecord:
        existing = await self.get(identity_id)
        body = {"schema_id": existing.schema_id, "traits": existing.traits, "state": state,
                "metadata_public": existing.metadata_public, "metadata_admin": existing.metadata_admin,
                "external_id": existing.external_id}
        body = {k: v for k, v in body.items() if v is not None}
        ident = await self.build(body, existing)
        await self._write(ident, existing)
        return ident

    async def _write(self, ident: IdentityRecord, existing: IdentityRecord) -> None:
        try:
            await self.ctx.store.replace_identity(ident)
        except UniqueViolation:
            raise DuplicateIdentity(reason="Another identity already has this credential identifier, address or "
                                           "external_id.") from None
        if ident.state != "active" and existing.state == "active":
            await self.ctx.sessions.revoke_all(ident.id)

    async def delete(self, identity_id: str) -> None:
        ident = await self.get(identity_id)
        await self.ctx.sessions.revoke_all(ident.id)  # every replica drops the cached sessions first
        await self.ctx.store.delete_identity(ident.id)

    async def delete_credential(self, identity_id: str, cred_type: str) -> None:
        ident = await self.get(identity_id)
        if cred_type in UNDELETABLE:
            raise _bad(f"Credentials of type {cred_type} cannot be deleted.")
        if cred_type not in ident.credentials:
            raise NotFound(reason=f"The identity has no {cred_type} credential.")
        await self.ctx.store.delete_credential(ident.id, cred_type)

    # -- sessions ----------------------------------------------------------------------------------------

    async def sessions(self, page: Page, *, active: bool | None = None,
                       identity_id: str | None = None) -> list[SessionRecord]:
        if identity_id is not None:
            identity_id = (await self.get(identity_id)).id
        after = page_token(page.token)
        return await self.ctx.store.list_sessions(limit=page.size, after=after, active=active,
                                                  identity_id=identity_id, now=datetime.now(UTC))

    async def session(self, session_id: str) -> SessionRecord:
        rec = await self.ctx.store.session(parse_uuid(session_id, "session"))
        if rec is None:
            raise NotFound(reason="Unable to locate the resource: no session with this id exists.")
        return rec

    async def session_json(self, rec: SessionRecord, expand: tuple[str, ...] = ("identity", "devices"),
                           cache: dict[str, IdentityRecord] | None = None) -> dict[str, Any]:
        cache = {} if cache is None else cache
        ident = cache.get(rec.identity_id) or await self.ctx.store.identity(rec.identity_id)
        if ident is None:
            raise NotFound(reason="The session's identity no longer exists.")
        cache[ident.id] = ident
        out = self.ctx.sessions.to_json(rec, ident)
        for key in ("identity", "devices"):
            if key not in expand:
                out.pop(key, None)
        return out

    async def revoke_session(self, session_id: str) -> None:
        rec = await self.session(session_id)
        await self.ctx.sessions.revoke(rec.id)

    async def delete_sessions(self, identity_id: str) -> None:
        ident = await self.get(identity_id)
        await self.ctx.sessions.revoke_all(ident.id)
        await self.ctx.store.delete_sessions_of(ident.id)

    async def extend_session(self, session_id: str) -> SessionRecord:
        rec = await self.session(session_id)
        now = datetime.now(UTC)
        cfg = self.ctx.config.session
        earliest = cfg.earliest_possible_extend
        if not rec.active or rec.expires_at <= now or (
                earliest is not None and rec.expires_at - now > timedelta(seconds=float(earliest))):
            raise NotFound(reason="The session is not active or cannot be extended yet.")
        expires = now + timedelta(seconds=float(cfg.lifespan))
        await self.ctx.store.extend_session(rec.id, expires, now)
        rec.expires_at = expires
        self.ctx.sessions.forget(rec.token_hash)
        return rec


async def _providers(cred_type: str, config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    providers = config.get("providers")
    if not isinstance(providers, list) or not providers:
        raise _bad(f"credentials.{cred_type}.config.providers must be a non-empty array.")
    stored, identifiers = [], []
    for p in providers:
        if not isinstance(p, dict) or not all(isinstance(p.get(k), str) and p.get(k) for k in ("provider", "subject")):
            raise _bad(f"each credentials.{cred_type}.config.providers entry needs provider and subject strings.")
        entry = {"subject": p["subject"], "provider": p["provider"], "initial_id_token": "",
                 "initial_access_token": "", "initial_refresh_token": ""}
        for key in ("organization", "use_auto_link"):
            if key in p:
                entry[key] = p[key]
        stored.append(entry)
        identifiers.append(f"{p['provider']}:{p['subject']}")
    return {"providers": stored}, identifiers


def _declassified(cred: CredentialRecord) -> dict[str, Any]:
    if cred.type in ("oidc", "saml"):
        return {"providers": [{k: v for k, v in p.items() if not k.startswith("initial_")}
                              for p in cred.config.get("providers", [])]}
    return dict(cred.config)


def _keep_verification(ident: IdentityRecord, body: dict[str, Any], existing: IdentityRecord | None) -> None:
    """Derived addresses take verified/status from the body's addresses, else from the existing identity."""
    given: dict[tuple[str, str, str], dict[str, Any]] = {}
    if existing is not None:
        for a in existing.addresses:
            given[(a.kind, a.via, a.value)] = {"id": a.id, "verified": a.verified, "status": a.status,
                                               "verified_at": a.verified_at, "created_at": a.created_at}
    for kind, key in (("verifiable", "verifiable_addresses"), ("recovery", "recovery_addresses")):
        entries = body.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise _bad(f"{key} must be an array of objects.")
        for e in entries:
            value, via = e.get("value"), e.get("via", "email")
            if not isinstance(value, str) or via not in ("email", "sms"):
                raise _bad(f"each of {key} needs a string value and via email or sms.")
            verified = e.get("verified", False)
            status = e.get("status", "completed" if verified else "pending")
            if not isinstance(verified, bool) or status not in ("pending", "sent", "completed"):
                raise _bad(f"{key}: verified must be a boolean and status pending, sent or completed.")
            prev = given.get((kind, via, normalise_identifier(value)), {})
            given[(kind, via, normalise_identifier(value))] = {**prev, "verified": verified, "status": status}
    for a in ident.addresses:
        found = given.get((a.kind, a.via, a.value))
        if found is None:
            continue
        a.id = found.get("id", a.id)
        a.created_at = found.get("created_at", a.created_at)
        if a.kind == "verifiable":
            a.verified, a.status = found["verified"], found["status"]
            a.verified_at = found.get("verified_at") or (ident.updated_at if a.verified else None)


