"""What the passkey and webauthn strategies share: their nodes, the single-use challenge of a flow, checking a
sign-in answer against stored keys, and the settings steps (add a verified key, remove one).

Errors are Kratos': an unreadable answer is a 400 (`Unable to parse WebAuthn response`), a registration answer
that does not verify a 500 (`Unable to create WebAuthn credential: ...`, as Kratos' herodot error), a sign-in
answer that does not verify 4000008 on the flow.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from webauthn.registration.verify_registration_response import VerifiedRegistration

from gatekeeper.errors import BadRequest, GatekeeperError
from gatekeeper.identity import text
from gatekeeper.identity import text_webauthn as msg
from gatekeeper.identity.flows.base import Flow, FlowType, ValidationFailed
from gatekeeper.identity.login_hints import create_registered
from gatekeeper.identity.schemas import IdentitySchema
from gatekeeper.identity.strategies.common import checked_traits, submitted_traits, text_field
from gatekeeper.identity.ui import Group, Node, input_node
from gatekeeper.identity.webauthn import credentials
from gatekeeper.identity.webauthn.credentials import StoredKey
from gatekeeper.identity.webauthn.relying_party import (
    Ceremony,
    Refused,
    RelyingParty,
    Unreadable,
    answer_bytes,
    new_entry,
    parse_answer,
)
from gatekeeper.store.identities import CredentialRecord, IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.context import IdentityContext

log = logging.getLogger("gatekeeper.identity.webauthn")


class CredentialNotCreated(GatekeeperError):
    """Kratos' herodot 500s of the methods (a registration answer that does not verify, no pending challenge)."""


def trigger_node(name: str, function: str, label: dict[str, Any], *, group: Group = Group.PASSKEY,
                 value: str | None = None, argument: str = "") -> Node:
    """A button that calls one of webauthn.js' global functions (with `argument`, inline, for security keys)."""
    node = input_node(name, group, type="button", value=value, label=label)
    node["attributes"].update(onclick=f"window.{function}({argument})", onclickTrigger=function)
    return node


def hidden_node(name: str, value: str | None = None, *, group: Group = Group.PASSKEY,
                onload: str | None = None) -> Node:
    node = input_node(name, group, type="hidden", value=value)
    if onload:
        node["attributes"].update(onload=f"window.{onload}()", onloadTrigger=onload)
    return node


def upsert(flow: Flow, node: Node) -> None:
    """Replace the node with the same name, or append it (Kratos' Nodes.Upsert)."""
    name = node["attributes"].get("name") or node["attributes"].get("id")
    for i, existing in enumerate(flow.nodes):
        if (existing["attributes"].get("name") or existing["attributes"].get("id")) == name:
            flow.nodes[i] = node
            return
    flow.nodes.append(node)


def read_answer(raw: str, *, registration: bool) -> dict[str, Any]:
    """The submitted credential JSON; Kratos' 400 when it is none (its reason names the problem at registration)."""
    try:
        return parse_answer(raw)
    except Unreadable as exc:
        raise BadRequest(reason=f"Unable to parse WebAuthn response: {exc}" if registration else
                         "Unable to parse WebAuthn response.") from exc


async def spend(ctx: IdentityContext, flow: Flow, key: str, renew: Callable[[Flow], Any]) -> Ceremony | None:
    """Take the flow's pending challenge out, `renew` the form for another try and store the flow at once:
    whatever follows, a challenge is answered once."""
    ceremony = Ceremony.take(flow.internal, key)
    renew(flow)
    flow.record.updated_at = datetime.now(UTC)
    await ctx.store.update_flow(flow.record)
    return ceremony


def verified_registration(rp: RelyingParty, answer: dict[str, Any],
                          ceremony: Ceremony | None) -> VerifiedRegistration:
    if ceremony is None:
        raise CredentialNotCreated(reason="Expected WebAuthN in internal context to be an object.")
    try:
        return rp.verify_registration(answer, ceremony)
    except Refused as exc:
        raise CredentialNotCreated(reason=f"Unable to create WebAuthn credential: {exc}") from None


async def check_assertion(ctx: IdentityContext, rp: RelyingParty, flow: Flow, ident: IdentityRecord,
                          cred_type: str, usable: Sequence[StoredKey], answer: dict[str, Any],
                          ceremony: Ceremony | None) -> IdentityRecord:
    """The answer must be signed by one of `usable` for this ceremony, its counter moving on (stored with a
    compare-and-set, so one answer wins a race); else 4000008 on the flow."""
    cred = ident.credentials.get(cred_type)
    key_id = answer_bytes(answer, "rawId")
    key = next((k for k in usable if k.id == key_id), None)
    try:
        if cred is None or key is None or ceremony is None:
            raise Refused("unknown credential id" if key is None else "no pending challenge")
        verified = rp.verify_authentication(answer, ceremony, key.public_key, key.sign_count)
        new = credentials.with_sign_count(cred.config, key_id, verified.new_sign_count)
        if not await ctx.store.swap_credential_config(ident.id, cred_type, cred.config, new, datetime.now(UTC)):
            raise Refused("the key was used by another request at the same time")
    except Refused as exc:
        log.info("WebAuthn sign-in refused", extra={"identity_id": ident.id, "method": cred_type,
                                                    "reason": str(exc)})
        flow.add_message(msg.verifier_wrong())
        raise ValidationFailed() from None
    cred.config = new
    return ident


async def add_key(ctx: IdentityContext, ident: IdentityRecord, cred_type: str, entry: dict[str, Any],
                  user_handle: str, identifiers: Sequence[str]) -> None:
    """Store one more key (`entry`) on the identity's credential of `cred_type` (created when missing)."""
    now = datetime.now(UTC)
    cred = ident.credentials.get(cred_type) or CredentialRecord(
        id=str(uuid.uuid4()), type=cred_type, identifiers=[], config={}, created_at=now, updated_at=now)
    cred.config = {**cred.config, "user_handle": credentials.b64(user_handle.encode()),
                   "credentials": [*(cred.config.get("credentials") or []), entry]}
    cred.identifiers = [*cred.identifiers, *(i for i in identifiers if i not in cred.identifiers)]
    cred.updated_at = now
    await ctx.store.put_credential(ident.id, cred)
    ident.credentials[cred_type] = cred


async def remove_key(ctx: IdentityContext, flow: Flow, ident: IdentityRecord, cred_type: str, hex_id: str, *,
                     noun: str, keeps_last: Callable[[StoredKey], bool]) -> bool:
    """Remove the key `hex_id`, unless `keeps_last(key)` and it is the identity's last way to sign in."""
    cred = ident.credentials.get(cred_type)
    if cred is None:
        raise BadRequest(reason="You tried to remove a WebAuthn but you have no WebAuthn set up.")
    gone = next((k for k in credentials.keys(cred.config) if k.hex_id == hex_id), None)
    if gone is None:
        raise BadRequest(reason=f"You tried to remove a {noun} which does not exist.")
    if keeps_last(gone) and credentials.first_factors(ident) < 2:
        flow.add_message(text.generic("unable to remove this security key because it would lock you out of your "
                                      "account"))
        raise ValidationFailed()
    kept = credentials.without(cred.config, hex_id)
    if not kept["credentials"]:
        await ctx.store.delete_credential(ident.id, cred_type)
        del ident.credentials[cred_type]
    else:
        await ctx.store.update_credential_config(ident.id, cred_type, kept, datetime.now(UTC))
        cred.config = kept
    return True


async def sign_up(ctx: IdentityContext, rp: RelyingParty, flow: Flow, schema: IdentitySchema, body: dict[str, Any],
                  raw: str, *, cred_type: str, ceremony_key: str, renew: Callable[[Flow], Any],
                  identifiers: Callable[[dict[str, Any], Ceremony], list[str]],
                  display_name: str = "") -> IdentityRecord:
    """A new identity from the submitted traits and a verified first-factor key (passkey, passwordless key)."""
    traits = checked_traits(flow, schema, submitted_traits(body, flow.internal.get("traits")))
    answer = read_answer(raw, registration=True)
    ceremony = await spend(ctx, flow, ceremony_key, renew)
    verified = verified_registration(rp, answer, ceremony if ceremony and ceremony.user_id else None)
    assert ceremony is not None
    config = {"credentials": [new_entry(verified, passwordless=True, display_name=display_name)],
              "user_handle": credentials.b64(ceremony.user_id.encode())}
    ident = ctx.identities.new(schema, traits, {cred_type: config})
    ident.credentials[cred_type].identifiers = identifiers(traits, ceremony)
    if not ident.credentials[cred_type].identifiers:
        flow.add_message(text.identifier_missing())
        raise ValidationFailed()
    return await create_registered(ctx, flow, ident)


class KeySettings:
    """The settings side of both methods: claims its `<id>_remove` and register buttons, always needs a recent
    sign-in (Kratos), serves browser flows only, and hands a removal or an answer to `remove` / `add`."""

    id: ClassVar[str]
    group: ClassVar[Group]
    register_field: ClassVar[str]
    noun: ClassVar[str]  # in Kratos' "does not exist" reason
    added_aal: str = "aal1"  # the AAL an added key gives the session's method
    ctx: IdentityContext

    def keeps_last(self, key: StoredKey) -> bool:
        """Whether the key may be the identity's last way to sign in (then it cannot be removed)."""
        raise NotImplementedError

    def remove_label(self, key: StoredKey) -> dict[str, Any]:
        raise NotImplementedError

    def remove_buttons(self, flow: Flow, ident: IdentityRecord) -> list[StoredKey]:
        """One `<id>_remove` button per stored key (disabled where removing it would lock the identity out)."""
        cred = ident.credentials.get(self.id)
        stored = credentials.keys(cred.config if cred else None)
        last = credentials.first_factors(ident) < 2
        for key in stored:
            flow.nodes.append(input_node(f"{self.id}_remove", self.group, type="submit", value=key.hex_id,
                                         disabled=last and self.keeps_last(key), label=self.remove_label(key)))
        return stored

    def claims(self, body: dict[str, Any]) -> bool:
        return bool(text_field(body, self.register_field) or text_field(body, f"{self.id}_remove"))

    def needs_privilege(self, body: dict[str, Any], ident: IdentityRecord) -> bool:
        return True

    def proven_aal(self, body: dict[str, Any]) -> str | None:
        """A key just added counts as used on the session (Kratos' SessionAddAuthenticationMethods)."""
        return self.added_aal if text_field(body, self.register_field) else None

    async def settings(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> bool:
        if flow.type != FlowType.BROWSER:
            flow.add_message(text.no_strategy("settings"))
            raise ValidationFailed()
        body["method"] = self.id
        remove = text_field(body, f"{self.id}_remove")
        if remove:
            return await self.remove(flow, ident, remove)
        return await self.add(flow, ident, read_answer(text_field(body, self.register_field) or "",
                                                       registration=True), body)

    async def remove(self, flow: Flow, ident: IdentityRecord, hex_id: str) -> bool:
        return await remove_key(self.ctx, flow, ident, self.id, hex_id, noun=self.noun, keeps_last=self.keeps_last)

    async def add(self, flow: Flow, ident: IdentityRecord, answer: dict[str, Any], body: dict[str, Any]) -> bool:
        raise NotImplementedError
