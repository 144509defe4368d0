"""The passkey method (Kratos' `passkey`): sign up and sign in with a discoverable credential, browser flows only.

Login offers a discoverable request (no identifier needed): the answer's user handle names the identity (its
`passkey` credential identifier), the key it signed with must be one of that identity's, and its counter must
move on. Registration keeps a fresh random user handle with its challenge in the flow and stores the verified
key in Kratos' credential shape. API flows get no nodes and are not served (Kratos v25.4: "no strategy").
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from webauthn.helpers.structs import UserVerificationRequirement

from gatekeeper.identity import text_webauthn as msg
from gatekeeper.identity.flows.base import Flow, FlowType, NotResponsible, ValidationFailed
from gatekeeper.identity.oidc.errors import BrowserLocationChangeRequired
from gatekeeper.identity.schemas import EXTENSION, IdentitySchema, TraitField
from gatekeeper.identity.strategies.common import text_field
from gatekeeper.identity.strategies.keys import (
    check_assertion,
    hidden_node,
    read_answer,
    sign_up,
    spend,
    trigger_node,
    upsert,
)
from gatekeeper.identity.ui import Group, Node, find, input_node
from gatekeeper.identity.webauthn import credentials
from gatekeeper.identity.webauthn.relying_party import RelyingParty, answer_bytes
from gatekeeper.identity.webauthn.script import script_node
from gatekeeper.store.identities import IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.context import IdentityContext

CEREMONY = "passkey_session"  # flow.internal key of the pending challenge


class PasskeyStrategy:
    id: ClassVar[str] = "passkey"
    group: ClassVar[Group] = Group.PASSKEY
    identifier_free: ClassVar[bool] = True

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx
        cfg = ctx.config.selfservice.methods.passkey.config
        self.rp = RelyingParty(cfg.rp, ctx.public_base_url, resident=True,
                               user_verification=UserVerificationRequirement.PREFERRED)
        self.one_step = ctx.config.selfservice.flows.registration.one_step

    # -- login -----------------------------------------------------------------------------------------

    def populate_login(self, flow: Flow, schema: IdentitySchema, *, identifier: str | None = None) -> None:
        """The unified form: the autofill (conditional UI) nodes and the "Sign in with passkey" button."""
        self._offer(flow, schema, button=True)

    def populate_identification(self, flow: Flow, schema: IdentitySchema) -> None:
        """The autofill nodes alone: the identifier-first style's first screen (Kratos, no button there)."""
        self._offer(flow, schema, button=False)

    def _offer(self, flow: Flow, schema: IdentitySchema, *, button: bool) -> None:
        if flow.type != FlowType.BROWSER:
            return
        existing = find(flow.nodes, "identifier")
        if existing is None:
            flow.nodes.append(input_node("identifier", Group.DEFAULT, value="", required=True,
                                         autocomplete="username webauthn", label=schema.identifier_label()))
        elif existing["attributes"]["type"] == "text":
            existing["attributes"]["autocomplete"] = "username webauthn"  # the autofill's anchor
        self._challenge(flow)
        flow.nodes.append(script_node(self.ctx.public_base_url))
        if button:
            flow.nodes.append(_login_button())
        flow.nodes.append(hidden_node("passkey_login", onload="oryPasskeyLoginAutocompleteInit"))

    def populate_identified(self, flow: Flow) -> None:
        """"Sign in with passkey", also on the identifier-first style's second screen: Kratos shows it there when
        the identity has a passkey or account enumeration is mitigated, which gatekeeper always does (so the
        screen is the same for every identifier). The first screen's challenge stays in the flow."""
        if flow.type == FlowType.BROWSER:
            upsert(flow, _login_button())

    def populate_refresh(self, flow: Flow, ident: IdentityRecord) -> None:
        """The refresh login of `ident`: offered only when it has a passkey (Kratos), the challenge naming its keys
        and, when no other method named the identity, its passkey display name as the hidden identifier."""
        cred = ident.credentials.get(self.id)
        stored = credentials.keys(cred.config) if cred is not None else []
        if flow.type != FlowType.BROWSER or not stored:
            return
        options, ceremony = self.rp.authentication([key.id for key in stored])
        flow.internal[CEREMONY] = ceremony.to_json()
        upsert(flow, hidden_node("passkey_challenge", json.dumps(options)))
        flow.nodes.append(script_node(self.ctx.public_base_url))
        flow.nodes.append(_login_button())
        upsert(flow, hidden_node("passkey_login"))
        if find(flow.nodes, "identifier") is None:
            schema = self.ctx.schemas.get(ident.schema_id) or self.ctx.schemas.default
            flow.nodes.append(input_node("identifier", Group.DEFAULT, type="hidden",
                                         value=display_name_of(schema, ident.traits)))

    def _challenge(self, flow: Flow) -> None:
        options, ceremony = self.rp.authentication()
        flow.internal[CEREMONY] = ceremony.to_json()
        upsert(flow, hidden_node("passkey_challenge", json.dumps(options)))

    async def before_session(self, flow: Flow, ident: IdentityRecord) -> None:
        """Nothing to add before the session."""

    async def login(self, flow: Flow, body: dict[str, Any], client: ClientInfo) -> IdentityRecord:
        raw = text_field(body, "passkey_login") or ""
        if flow.type != FlowType.BROWSER or not (raw or body.get("method") == self.id):
            raise NotResponsible()
        body["method"] = self.id
        if not raw:  # Kratos: the passkey form alone, and the browser back to the flow's page
            flow.nodes = [n for n in flow.nodes if n["attributes"].get("name") == "csrf_token"]
            schema = self.ctx.schemas.get(flow.internal.get("schema_id")) or self.ctx.schemas.default
            await spend(self.ctx, flow, CEREMONY, lambda f: self.populate_login(f, schema))
            raise BrowserLocationChangeRequired(f"{self.ctx.ui_url('login')}?flow={flow.id}")
        answer = read_answer(raw, registration=False)
        ceremony = await spend(self.ctx, flow, CEREMONY, self._challenge)
        handle = answer_bytes(answer, "response", "userHandle")
        ident = await self.ctx.store.identity_by_identifier(self.id, handle.decode(errors="replace")) \
            if handle else None
        cred = ident.credentials.get(self.id) if ident is not None else None
        if ident is None or cred is None or ident.state != "active":
            flow.add_message(msg.no_webauthn_user())
            raise ValidationFailed()
        return await check_assertion(self.ctx, self.rp, flow, ident, self.id, credentials.keys(cred.config),
                                     answer, ceremony)

    # -- registration ----------------------------------------------------------------------------------

    def populate_registration(self, flow: Flow) -> None:
        if self.one_step:
            self.populate_credentials(flow)

    def populate_credentials(self, flow: Flow) -> None:
        """The sign-up button and its options (one-step style, or the credential screen of profile-first)."""
        if flow.type != FlowType.BROWSER:
            return
        self._create_data(flow)
        upsert(flow, trigger_node("passkey_register_trigger", "oryPasskeyRegistration", msg.registration_passkey()))
        upsert(flow, script_node(self.ctx.public_base_url))
        upsert(flow, hidden_node("passkey_register"))

    def _create_data(self, flow: Flow) -> None:
        options, ceremony = self.rp.registration("")
        flow.internal[CEREMONY] = ceremony.to_json()
        schema = self.ctx.schemas.get(flow.internal.get("schema_id")) or self.ctx.schemas.default
        data = {"credentialOptions": options, "displayNameFieldName": display_name_field(schema)}
        upsert(flow, hidden_node("passkey_create_data", json.dumps(data)))

    async def register(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                       schema: IdentitySchema) -> IdentityRecord | None:
        raw = text_field(body, "passkey_register") or ""
        if flow.type != FlowType.BROWSER or raw in ("", "true"):  # the React SDK sends "true" for empty
            raise NotResponsible()
        body["method"] = self.id
        return await sign_up(self.ctx, self.rp, flow, schema, body, raw, cred_type=self.id, ceremony_key=CEREMONY,
                             renew=self._create_data, identifiers=lambda traits, ceremony: [ceremony.user_id])


def _login_button() -> Node:
    return trigger_node("passkey_login_trigger", "oryPasskeyLogin", msg.login_passkey(), value="")


def display_name_trait(schema: IdentitySchema) -> TraitField | None:
    """The trait that names a passkey: `credentials.passkey.display_name` or `credentials.webauthn.identifier`
    (Kratos), else (gatekeeper) the first password identifier, so the default schema works unchanged."""
    for f in schema.fields:
        creds = (f.spec.get(EXTENSION, {}) or {}).get("credentials") or {}
        if (creds.get("passkey") or {}).get("display_name") or (creds.get("webauthn") or {}).get("identifier"):
            return f
    return next((f for f in schema.fields if f.password_identifier), None)


def display_name_field(schema: IdentitySchema) -> str:
    named = display_name_trait(schema)
    return named.name if named else ""


def display_name_of(schema: IdentitySchema, traits: dict[str, Any]) -> str:
    """The identity's value of that trait ("" when it has none)."""
    named = display_name_trait(schema)
    value: Any = traits
    for key in named.path if named else ():
        value = value.get(key) if isinstance(value, dict) else None
    return value if named and isinstance(value, str) else ""
