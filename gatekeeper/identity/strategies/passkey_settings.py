"""The passkey method in the settings flow (Kratos' passkey settings): list the identity's passkeys with a
remove button each (disabled when it is the last way to sign in), and add one more (browser flows only)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.errors import BadRequest
from gatekeeper.identity import text
from gatekeeper.identity import text_webauthn as msg
from gatekeeper.identity.flows.base import Flow, FlowType, ValidationFailed
from gatekeeper.identity.strategies.common import text_field
from gatekeeper.identity.strategies.passkey import (
    CEREMONY,
    PasskeyError,
    PasskeyStrategy,
    display_name_of,
    hidden_node,
    trigger_node,
    upsert,
)
from gatekeeper.identity.ui import Group, input_node
from gatekeeper.identity.webauthn import credentials
from gatekeeper.identity.webauthn.relying_party import Ceremony, Refused, Unreadable, parse_answer
from gatekeeper.identity.webauthn.script import script_node
from gatekeeper.store.identities import CredentialRecord, IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext


class PasskeySettings:
    id: ClassVar[str] = "passkey"
    group: ClassVar[Group] = Group.PASSKEY

    def __init__(self, ctx: IdentityContext, passkeys: PasskeyStrategy) -> None:
        """`passkeys`: the login/registration strategy, whose relying party this shares."""
        self.ctx, self.rp = ctx, passkeys.rp

    def populate_settings(self, flow: Flow, ident: IdentityRecord) -> None:
        if flow.type != FlowType.BROWSER:
            return
        cred = ident.credentials.get(self.id)
        last = credentials.first_factors(ident) < 2
        for key in credentials.keys(cred.config if cred else None):
            node = input_node("passkey_remove", Group.PASSKEY, type="submit", value=key.hex_id, disabled=last,
                              label=msg.remove_passkey(key.display_name, key.added_at))
            flow.nodes.append(node)
        schema = self.ctx.schemas.get(ident.schema_id) or self.ctx.schemas.default
        name = display_name_of(schema, ident.traits)
        if not name:
            flow.add_message(text.identifier_missing())
            return
        existing = [k.id for k in credentials.keys(cred.config if cred else None)]
        options, ceremony = self.rp.registration(name, exclude=existing)
        flow.internal[CEREMONY] = ceremony.to_json()
        upsert(flow, script_node(self.ctx.public_base_url))
        upsert(flow, trigger_node("passkey_register_trigger", "oryPasskeySettingsRegistration", msg.add_passkey()))
        upsert(flow, hidden_node("passkey_settings_register"))
        upsert(flow, hidden_node("passkey_create_data", json.dumps(options)))

    def claims(self, body: dict[str, Any]) -> bool:
        return bool(text_field(body, "passkey_settings_register") or text_field(body, "passkey_remove"))

    def needs_privilege(self, body: dict[str, Any], ident: IdentityRecord) -> bool:
        return True

    async def settings(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> bool:
        if flow.type != FlowType.BROWSER:
            flow.add_message(text.no_strategy("settings"))
            raise ValidationFailed()
        body["method"] = self.id
        remove = text_field(body, "passkey_remove")
        if remove:
            return await self._remove(flow, ident, remove)
        return await self._add(flow, ident, text_field(body, "passkey_settings_register") or "")

    async def _remove(self, flow: Flow, ident: IdentityRecord, hex_id: str) -> bool:
        cred = ident.credentials.get(self.id)
        if cred is None:
            raise BadRequest(reason="You tried to remove a WebAuthn but you have no WebAuthn set up.")
        kept = credentials.without(cred.config, hex_id)
        if len(kept["credentials"]) == len(cred.config.get("credentials") or []):
            raise BadRequest(reason="You tried to remove a passkey which does not exist.")
        if credentials.first_factors(ident) < 2:
            flow.add_message(text.generic("unable to remove this security key because it would lock you out of "
                                          "your account"))
            raise ValidationFailed()
        if not kept["credentials"]:
            await self.ctx.store.delete_credential(ident.id, self.id)
            del ident.credentials[self.id]
            return True
        await self.ctx.store.update_credential_config(ident.id, self.id, kept, datetime.now(UTC))
        cred.config = kept
        return True

    async def _add(self, flow: Flow, ident: IdentityRecord, raw: str) -> bool:
        ceremony = Ceremony.take(flow.internal, CEREMONY)
        flow.record.updated_at = datetime.now(UTC)
        await self.ctx.store.update_flow(flow.record)  # the challenge is spent, whatever follows
        if ceremony is None or not ceremony.user_id:
            raise PasskeyError(reason="Expected WebAuthN in internal context to be an object.")
        try:
            verified = self.rp.verify_registration(parse_answer(raw), ceremony)
        except Unreadable as exc:
            raise BadRequest(reason=f"Unable to parse WebAuthn response: {exc}") from exc
        except Refused as exc:
            raise PasskeyError(reason=f"Unable to create WebAuthn credential: {exc}") from None
        now = datetime.now(UTC)
        cred = ident.credentials.get(self.id) or CredentialRecord(
            id=str(uuid.uuid4()), type=self.id, identifiers=[], config={}, created_at=now,
            updated_at=now)
        cred.config = {**cred.config, "user_handle": credentials.b64(ceremony.user_id.encode()),
                       "credentials": [*(cred.config.get("credentials") or []),
                                       credentials.new_entry(verified, passwordless=True)]}
        cred.identifiers = [*cred.identifiers, ceremony.user_id]
        cred.updated_at = now
        await self.ctx.store.put_credential(ident.id, cred)
        ident.credentials[self.id] = cred
        return True
