"""The webauthn method in the settings flow: the identity's security keys by display name with a remove button
each (a passwordless key that is the last way to sign in cannot go), and a named new key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.identity import text
from gatekeeper.identity import text_webauthn as msg
from gatekeeper.identity.flows.base import Flow, FlowType, ValidationFailed
from gatekeeper.identity.strategies.common import text_field
from gatekeeper.identity.strategies.keys import KeySettings, add_key, spend, upsert, verified_registration
from gatekeeper.identity.strategies.webauthn import CEREMONY, MAX_NAME, WebauthnStrategy, options_trigger
from gatekeeper.identity.ui import Group, input_node
from gatekeeper.identity.webauthn.credentials import StoredKey
from gatekeeper.identity.webauthn.relying_party import new_entry
from gatekeeper.identity.webauthn.script import script_node
from gatekeeper.store.identities import IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext


class WebauthnSettings(KeySettings):
    id: ClassVar[str] = "webauthn"
    register_field: ClassVar[str] = "webauthn_register"
    noun: ClassVar[str] = "WebAuthn credential"
    group: ClassVar[Group] = Group.WEBAUTHN

    def __init__(self, ctx: IdentityContext, keys: WebauthnStrategy) -> None:
        self.ctx, self.passwordless, self.rp = ctx, keys.passwordless, keys.rp
        self.added_aal = "aal1" if keys.passwordless else "aal2"  # Kratos: a second-factor key proves aal2

    def populate_settings(self, flow: Flow, ident: IdentityRecord) -> None:
        if flow.type != FlowType.BROWSER:
            return
        stored = self.remove_buttons(flow, ident)
        options, ceremony = self.rp.registration("", exclude=[k.id for k in stored])
        flow.internal[CEREMONY] = ceremony.to_json()
        # Kratos' order: the keys, the name, the answer, the button, the script
        upsert(flow, input_node("webauthn_register_displayname", Group.WEBAUTHN, value="",
                                label=msg.webauthn_name_label()))
        upsert(flow, input_node("webauthn_register", Group.WEBAUTHN, type="hidden", value=""))
        upsert(flow, options_trigger("webauthn_register_trigger", "oryWebAuthnRegistration", options,
                                     msg.add_webauthn()))
        upsert(flow, script_node(self.ctx.public_base_url))

    def keeps_last(self, key: StoredKey) -> bool:
        return key.passwordless  # a second factor never locks anyone out

    def remove_label(self, key: StoredKey) -> dict[str, Any]:
        return msg.remove_webauthn(key.display_name, key.added_at)

    async def add(self, flow: Flow, ident: IdentityRecord, answer: dict[str, Any], body: dict[str, Any]) -> bool:
        name = (text_field(body, "webauthn_register_displayname") or "").strip()[:MAX_NAME]
        verified = verified_registration(self.rp, answer, await spend(self.ctx, flow, CEREMONY, lambda f: None))
        identifiers: list[str] = []
        if self.passwordless:  # found by the identifier at login: the schema's password identifiers
            schema = self.ctx.schemas.get(ident.schema_id) or self.ctx.schemas.default
            identifiers = schema.identifiers(ident.traits)
            if not identifiers:
                flow.add_message(text.identifier_missing())
                raise ValidationFailed()
        entry = new_entry(verified, passwordless=self.passwordless, display_name=name)
        await add_key(self.ctx, ident, self.id, entry, ident.id, identifiers)
        return True
