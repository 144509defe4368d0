"""The webauthn method (Kratos' `webauthn`): security keys as a second factor (aal2), or, with
`config.passwordless: true`, as a first factor found by the identifier (browser flows only).

Second factor: the aal2 login offers the identity's keys (an allow list) with `webauthn_login_trigger`; the
answer must come from one of them with a counter that moved on. First factor: the identifier and a
`method=webauthn` button; submitting it sends the browser back to the flow, now with the keys' options.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from webauthn.helpers.structs import UserVerificationRequirement

from gatekeeper.errors import BadRequest
from gatekeeper.identity import text_webauthn as msg
from gatekeeper.identity.flows.base import Flow, FlowType, NotResponsible, ValidationFailed
from gatekeeper.identity.oidc.errors import BrowserLocationChangeRequired
from gatekeeper.identity.schemas import IdentitySchema, normalise_identifier
from gatekeeper.identity.strategies.common import MAX_FIELD, text_field
from gatekeeper.identity.strategies.keys import check_assertion, read_answer, sign_up, spend, trigger_node, upsert
from gatekeeper.identity.ui import Group, Node, find, input_node, submit_node
from gatekeeper.identity.webauthn import credentials
from gatekeeper.identity.webauthn.relying_party import RelyingParty
from gatekeeper.identity.webauthn.script import script_node
from gatekeeper.store.identities import IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.context import IdentityContext

CEREMONY = "webauthn_session"
MAX_NAME = 128  # characters of a key's display name


def options_trigger(name: str, function: str, options: dict[str, Any], label: dict[str, Any]) -> Node:
    """Kratos' security-key buttons: the options in `value` and inline in the onclick call."""
    value = json.dumps(options)
    return trigger_node(name, function, label, group=Group.WEBAUTHN, value=value, argument=value)


class WebauthnStrategy:
    id: ClassVar[str] = "webauthn"
    group: ClassVar[Group] = Group.WEBAUTHN
    identifier_free: ClassVar[bool] = False

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx
        cfg = ctx.config.selfservice.methods.webauthn.config
        self.passwordless = cfg.passwordless
        self.one_step = ctx.config.selfservice.flows.registration.one_step
        self.rp = RelyingParty(cfg.rp, ctx.public_base_url, resident=False,
                               user_verification=UserVerificationRequirement.DISCOURAGED)

    def usable_keys(self, ident: IdentityRecord) -> list[credentials.StoredKey]:
        """The keys for this configuration: passwordless ones as a first factor, the others as a second."""
        cred = ident.credentials.get(self.id)
        return [k for k in credentials.keys(cred.config if cred else None) if k.passwordless == self.passwordless]

    def _offer(self, flow: Flow, ident: IdentityRecord, label: dict[str, Any]) -> None:
        keys = self.usable_keys(ident)
        if not keys:
            return
        options, ceremony = self.rp.authentication(allow=[k.id for k in keys])
        flow.internal[CEREMONY] = {**ceremony.to_json(), "identity_id": ident.id}
        upsert(flow, input_node("webauthn_login", Group.WEBAUTHN, type="hidden", value=""))
        upsert(flow, script_node(self.ctx.public_base_url))
        upsert(flow, options_trigger("webauthn_login_trigger", "oryWebAuthnLogin", options, label))

    # -- first factor (passwordless) -------------------------------------------------------------------

    def populate_login(self, flow: Flow, schema: IdentitySchema, *, identifier: str | None = None) -> None:
        if flow.type != FlowType.BROWSER or not self.passwordless:
            return
        ident_node = find(flow.nodes, "identifier")
        if ident_node is None:
            flow.nodes.append(input_node("identifier", Group.DEFAULT, value=identifier or "", required=True,
                                         autocomplete="username webauthn", label=schema.identifier_label()))
        elif ident_node["attributes"]["type"] == "text":
            ident_node["attributes"]["autocomplete"] = "username webauthn"
        flow.nodes.append(submit_node("method", self.id, Group.WEBAUTHN, msg.login_webauthn()))

    async def before_session(self, flow: Flow, ident: IdentityRecord) -> None:
        """Nothing to add before the session."""

    async def login(self, flow: Flow, body: dict[str, Any], client: ClientInfo) -> IdentityRecord:
        raw = text_field(body, "webauthn_login") or ""
        if flow.type != FlowType.BROWSER or not self.passwordless \
                or not (raw or body.get("method") == self.id):
            raise NotResponsible()
        body["method"] = self.id
        identifier = text_field(body, "identifier") or ""
        if not identifier:
            raise BadRequest(reason="identifier is required")
        ident = await self.ctx.store.identity_by_identifier(self.id, normalise_identifier(identifier)[:MAX_FIELD])
        if ident is None or ident.state != "active" or not self.usable_keys(ident):
            flow.add_message(msg.no_webauthn_user())
            raise ValidationFailed()
        if not raw:  # step one: show the identity's keys, on the flow's own page
            flow.nodes = [n for n in flow.nodes if n["attributes"].get("name") == "csrf_token"]
            await spend(self.ctx, flow, CEREMONY, lambda f: self._step_two(f, ident, identifier))
            raise BrowserLocationChangeRequired(f"{self.ctx.ui_url('login')}?flow={flow.id}")
        return await self.verify(flow, raw, ident)

    def _step_two(self, flow: Flow, ident: IdentityRecord, identifier: str) -> None:
        self._offer(flow, ident, msg.login_continue())
        flow.nodes.append(input_node("identifier", Group.DEFAULT, type="hidden", value=identifier, required=True))
        flow.add_message(msg.prepare_device())

    # -- registration (passwordless) -------------------------------------------------------------------

    def populate_registration(self, flow: Flow) -> None:
        if self.one_step:
            self.populate_credentials(flow)

    def populate_credentials(self, flow: Flow) -> None:
        """Name, "Sign up with security key" and its options (one step, or profile-first's credential screen)."""
        if flow.type != FlowType.BROWSER or not self.passwordless:
            return
        upsert(flow, input_node("webauthn_register_displayname", Group.WEBAUTHN, value="",
                                label=msg.webauthn_name_label()))
        self._creation(flow)
        upsert(flow, script_node(self.ctx.public_base_url))
        upsert(flow, input_node("webauthn_register", Group.WEBAUTHN, type="hidden", value=""))

    def _creation(self, flow: Flow) -> None:
        options, ceremony = self.rp.registration("")
        flow.internal[CEREMONY] = ceremony.to_json()
        upsert(flow, options_trigger("webauthn_register_trigger", "oryWebAuthnRegistration", options,
                                     msg.registration_webauthn()))

    async def register(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                       schema: IdentitySchema) -> IdentityRecord | None:
        raw = text_field(body, "webauthn_register") or ""
        if flow.type != FlowType.BROWSER or not self.passwordless or not raw:
            raise NotResponsible()
        body["method"] = self.id
        name = (text_field(body, "webauthn_register_displayname") or "").strip()[:MAX_NAME]
        return await sign_up(self.ctx, self.rp, flow, schema, body, raw, cred_type=self.id, ceremony_key=CEREMONY,
                             renew=self._creation, display_name=name,
                             identifiers=lambda traits, ceremony: schema.identifiers(traits))

    # -- second factor ---------------------------------------------------------------------------------

    def populate_second(self, flow: Flow, ident: IdentityRecord) -> None:
        if flow.type == FlowType.BROWSER and not self.passwordless:
            self._offer(flow, ident, msg.login_webauthn())

    async def login_second(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> IdentityRecord:
        raw = text_field(body, "webauthn_login") or ""
        if flow.type != FlowType.BROWSER or self.passwordless or not (raw or body.get("method") == self.id):
            raise NotResponsible()
        body["method"] = self.id
        if not raw:
            flow.add_message(msg.verifier_wrong())
            raise ValidationFailed()
        return await self.verify(flow, raw, ident)

    async def verify(self, flow: Flow, raw: str, ident: IdentityRecord) -> IdentityRecord:
        """The answer must be one of the identity's usable keys, to this flow's challenge (spent either way)."""
        answer = read_answer(raw, registration=False)
        if not self.usable_keys(ident):
            flow.add_message(msg.no_webauthn_device())
            raise ValidationFailed()
        pending = flow.internal.get(CEREMONY) or {}
        ceremony = await spend(self.ctx, flow, CEREMONY, lambda f: self._offer(f, ident, msg.login_webauthn()))
        if pending.get("identity_id") != ident.id:
            ceremony = None  # a challenge shown for another identity
        return await check_assertion(self.ctx, self.rp, flow, ident, self.id, self.usable_keys(ident), answer,
                                     ceremony)


class WebauthnSecondFactor:
    """The method as the aal2 login sees its second factors (`populate_login(flow, ident)`, `login_second`)."""

    id: ClassVar[str] = "webauthn"

    def __init__(self, keys: WebauthnStrategy) -> None:
        self.keys = keys

    def populate_login(self, flow: Flow, ident: IdentityRecord) -> None:
        self.keys.populate_second(flow, ident)

    async def login_second(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> IdentityRecord:
        return await self.keys.login_second(flow, body, ident)
