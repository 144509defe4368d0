"""The settings side of the profile and password methods (Kratos' profile/settings.go, password/settings.go).

profile: traits re-validated by the schema; a change of a login identifier or a verifiable address needs a
privileged session; a new verifiable address starts unverified and gets a code when a verification service is
enabled. password: the policy and breach check, must differ from the old
one, always needs a privileged session.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.errors import UniqueViolation
from gatekeeper.identity import text
from gatekeeper.identity import text_settings as msg
from gatekeeper.identity.flows.base import Flow, ValidationFailed
from gatekeeper.identity.ports import VerificationSender
from gatekeeper.identity.strategies.common import attach, checked_traits, submitted_traits, text_field
from gatekeeper.identity.ui import Group, input_node, submit_node
from gatekeeper.store.identities import AddressRecord, CredentialRecord, IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext

log = logging.getLogger("gatekeeper.identity.settings")


async def save_traits(ctx: IdentityContext, ident: IdentityRecord, schema: Any,
                      traits: dict[str, Any]) -> list[AddressRecord]:
    """Store new (already validated) traits with their identifiers and addresses; an address that stays keeps its
    verification state, a new one starts unverified. Returns the new verifiable addresses (UniqueViolation when
    an identifier or address belongs to another identity)."""
    old = {(a.kind, a.via, a.value): a for a in ident.addresses}
    addresses = [old.get((a.kind, a.via, a.value), a) for a in ctx.identities.new(schema, traits, {}).addresses]
    await ctx.store.update_traits(ident, traits, schema.identifiers(traits), addresses, datetime.now(UTC))
    ident.traits, ident.addresses = traits, addresses
    return [a for a in addresses if a.kind == "verifiable" and (a.kind, a.via, a.value) not in old]


class ProfileSettings:
    id: ClassVar[str] = "profile"
    group: ClassVar[Group] = Group.PROFILE

    def __init__(self, ctx: IdentityContext, verification: VerificationSender | None) -> None:
        self.ctx, self.verification = ctx, verification

    def schema(self, ident: IdentityRecord) -> Any:
        return self.ctx.schemas.get(ident.schema_id) or self.ctx.schemas.default

    def populate_settings(self, flow: Flow, ident: IdentityRecord) -> None:
        flow.nodes.extend(self.schema(ident).trait_nodes(Group.PROFILE, ident.traits))
        flow.nodes.append(submit_node("method", "profile", Group.PROFILE, msg.save_button()))

    def claims(self, body: dict[str, Any]) -> bool:
        return body.get("method") == self.id

    def needs_privilege(self, body: dict[str, Any], ident: IdentityRecord) -> bool:
        """Only when a login identifier or a verifiable address changes (as Kratos' profile strategy)."""
        schema = self.schema(ident)
        traits = schema.coerce(submitted_traits(body, ident.traits))
        return bool(schema.identifiers(traits) != schema.identifiers(ident.traits)
                    or schema.addresses(traits, "verification") != schema.addresses(ident.traits, "verification"))

    async def settings(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> bool:
        if "traits" in body and not isinstance(body["traits"], dict):
            flow.add_message(text.generic("traits must be an object of the identity's traits"))
            raise ValidationFailed()
        schema = self.schema(ident)
        traits = checked_traits(flow, schema, submitted_traits(body, ident.traits))
        try:
            fresh = await save_traits(self.ctx, ident, schema, traits)
        except UniqueViolation:
            flow.add_message(text.duplicate_credentials())
            raise ValidationFailed() from None
        if "password" in ident.credentials:
            ident.credentials["password"].identifiers = schema.identifiers(traits)
        verification = self.verification
        if verification is None or not self.ctx.config.selfservice.flows.verification.enabled:
            return True  # as Kratos: codes for changed addresses only when verification is on
        for address in fresh:
            try:
                await verification.send_code(ident, address.value)
            except Exception:  # noqa: BLE001 - the profile is saved; a failed e-mail must not undo it
                log.warning("could not send a verification code for a changed address",
                            extra={"identity_id": ident.id})
        return True


class PasswordSettings:
    id: ClassVar[str] = "password"
    group: ClassVar[Group] = Group.PASSWORD

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    def populate_settings(self, flow: Flow, ident: IdentityRecord) -> None:
        flow.nodes.append(input_node("password", Group.PASSWORD, type="password", required=True,
                                     autocomplete="new-password", label=text.password_label()))
        flow.nodes.append(submit_node("method", "password", Group.PASSWORD, msg.save_button()))

    def claims(self, body: dict[str, Any]) -> bool:
        return body.get("method") == self.id

    def needs_privilege(self, body: dict[str, Any], ident: IdentityRecord) -> bool:
        return True

    async def settings(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> bool:
        password = text_field(body, "password")
        if not password:
            attach(flow, "password", text.required("password"))
            raise ValidationFailed()
        schema = self.ctx.schemas.get(ident.schema_id) or self.ctx.schemas.default
        identifiers = schema.identifiers(ident.traits)
        problems = await self.ctx.policy.problems(password, identifiers)
        cred = ident.credentials.get("password")
        stored = (cred.config or {}).get("hashed_password") if cred else None
        if not problems and isinstance(stored, str) and await self.ctx.hasher.verify(stored, password):
            problems = [msg.password_same()]
        for message in problems:
            attach(flow, "password", message)
        if problems:
            raise ValidationFailed()
        hashed = await self.ctx.hasher.hash(password)
        now = datetime.now(UTC)
        if cred is not None:
            config = {**(cred.config or {}), "hashed_password": hashed}
            await self.ctx.store.update_credential_config(ident.id, "password", config, now)
            cred.config = config
        else:
            new = CredentialRecord(id=str(uuid.uuid4()), type="password", identifiers=identifiers,
                                   config={"hashed_password": hashed}, created_at=now, updated_at=now)
            try:
                await self.ctx.store.put_credential(ident.id, new)
            except UniqueViolation:
                flow.add_message(text.duplicate_credentials())
                raise ValidationFailed() from None
            ident.credentials["password"] = new
        return True
