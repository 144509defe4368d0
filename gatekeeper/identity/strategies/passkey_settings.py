"""The passkey method in the settings flow (Kratos' passkey settings): list the identity's passkeys with a
remove button each (disabled when it is the last way to sign in), and add one more (browser flows only)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.identity import text
from gatekeeper.identity import text_webauthn as msg
from gatekeeper.identity.flows.base import Flow, FlowType
from gatekeeper.identity.strategies.keys import (
    KeySettings,
    add_key,
    hidden_node,
    spend,
    trigger_node,
    upsert,
    verified_registration,
)
from gatekeeper.identity.strategies.passkey import CEREMONY, PasskeyStrategy, display_name_of
from gatekeeper.identity.ui import Group
from gatekeeper.identity.webauthn.credentials import StoredKey
from gatekeeper.identity.webauthn.relying_party import new_entry
from gatekeeper.identity.webauthn.script import script_node
from gatekeeper.store.identities import IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext


class PasskeySettings(KeySettings):
    id: ClassVar[str] = "passkey"
    register_field: ClassVar[str] = "passkey_settings_register"
    noun: ClassVar[str] = "passkey"
    group: ClassVar[Group] = Group.PASSKEY

    def __init__(self, ctx: IdentityContext, passkeys: PasskeyStrategy) -> None:
        """`passkeys`: the login/registration strategy, whose relying party this shares."""
        self.ctx, self.rp = ctx, passkeys.rp

    def populate_settings(self, flow: Flow, ident: IdentityRecord) -> None:
        if flow.type != FlowType.BROWSER:
            return
        upsert(flow, script_node(self.ctx.public_base_url))  # Kratos' order: the script, the keys, the new one
        stored = self.remove_buttons(flow, ident)
        schema = self.ctx.schemas.get(ident.schema_id) or self.ctx.schemas.default
        name = display_name_of(schema, ident.traits)
        if not name:
            flow.add_message(text.identifier_missing())
            return
        options, ceremony = self.rp.registration(name, exclude=[k.id for k in stored])
        flow.internal[CEREMONY] = ceremony.to_json()
        upsert(flow, trigger_node("passkey_register_trigger", "oryPasskeySettingsRegistration", msg.add_passkey(),
                                  value=""))
        upsert(flow, hidden_node("passkey_settings_register"))
        upsert(flow, hidden_node("passkey_create_data", json.dumps(options)))

    def keeps_last(self, key: StoredKey) -> bool:
        return True

    def remove_label(self, key: StoredKey) -> dict[str, Any]:
        return msg.remove_passkey(key.display_name, key.added_at)

    async def add(self, flow: Flow, ident: IdentityRecord, answer: dict[str, Any], body: dict[str, Any]) -> bool:
        ceremony = await spend(self.ctx, flow, CEREMONY, lambda f: None)
        verified = verified_registration(self.rp, answer, ceremony if ceremony and ceremony.user_id else None)
        assert ceremony is not None
        await add_key(self.ctx, ident, self.id, new_entry(verified, passwordless=True),
                      ceremony.user_id, [ceremony.user_id])
        return True
