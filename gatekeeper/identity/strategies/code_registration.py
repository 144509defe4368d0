"""Sign up with a one-time code (Kratos' `code` registration, `selfservice.methods.code.passwordless_enabled`).

Step one (`method=code`, `traits`): the traits are validated and a 6-digit code goes to every code address (traits
marked `credentials.code.identifier`); the flow moves to `sent_email` with the traits kept as hidden fields.
Step two (`method=code`, `traits`, `code`): the same traits and the right code create the identity, its `code`
credential and its code addresses verified. `resend=code` sends a new code. The code is bound to the flow,
single use, expires with `methods.code.config.lifespan` and is void after `max_submissions` wrong tries.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.errors import GatekeeperError
from gatekeeper.identity import text, text_code
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.login_hints import create_registered
from gatekeeper.identity.schemas import IdentitySchema
from gatekeeper.identity.strategies.code_ui import kept_csrf, sent_nodes, wants_new_code
from gatekeeper.identity.strategies.common import attach, refill_traits, submitted_traits, text_field
from gatekeeper.identity.strategies.onetime import OneTimeCodes, new_code
from gatekeeper.identity.ui import Group, Node, submit_node
from gatekeeper.store.identities import CredentialRecord, IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.context import IdentityContext
    from gatekeeper.identity.courier import Courier

log = logging.getLogger("gatekeeper.identity.code")


def _submit() -> Node:
    return submit_node("method", "code", Group.CODE, text_code.registration_code_button())


class CodeRegistrationStrategy:
    """A way to register (fits `identity.ports.RegistrationMethod`)."""

    id: ClassVar[str] = "code"

    def __init__(self, ctx: IdentityContext, courier: Courier) -> None:
        self.ctx, self.courier = ctx, courier
        self.codes = OneTimeCodes(ctx, "registration", self.id, ctx.config.selfservice.methods.code.config)
        self.two_step = not ctx.config.selfservice.flows.registration.one_step

    def populate_registration(self, flow: Flow) -> None:
        """One step: "Send sign up code" beside the traits. Two steps: offered on the credential screen."""
        if not self.two_step:
            flow.nodes.append(_submit())

    def populate_credentials(self, flow: Flow) -> None:
        flow.nodes.append(_submit())

    async def register(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                       schema: IdentitySchema) -> IdentityRecord | None:
        if body.get("method") != self.id:
            raise NotResponsible()
        traits = schema.coerce(submitted_traits(body, flow.internal.get("traits")))
        refill_traits(flow, schema, traits)
        if wants_new_code(flow.body.get("state"), body):
            await self._send(flow, schema, traits, client)
            return None
        return await self._create(flow, body, schema, traits)

    # -- step one: send ------------------------------------------------------------------------------------

    async def _send(self, flow: Flow, schema: IdentitySchema, traits: dict[str, Any], client: ClientInfo) -> None:
        problems = schema.validate(traits)
        for name, message in problems:
            attach(flow, name, message)
        addresses = schema.code_addresses(traits)
        if not problems and not addresses:
            flow.add_message(text.identifier_missing())  # the schema marks no code identifier
        if problems or not addresses:
            raise ValidationFailed()
        for _, address in addresses:
            await self.codes.throttle_send(address, client)
        await self.codes.clear(flow)
        secret = new_code()
        self.codes.issue(flow, secret, addresses=[list(a) for a in addresses])
        flow.internal["traits"] = traits
        data = {"registration_code": secret, "traits": traits, "request_url": flow.body["request_url"],
                "expires_in_minutes": self.codes.expires_in_minutes}
        for via, address in addresses:
            await self._send_to(via, address, data)
        hidden = schema.trait_nodes(Group.DEFAULT, traits)
        for node in hidden:
            node["attributes"]["type"] = "hidden"
            for key in ("autocomplete", "pattern"):
                node["attributes"].pop(key, None)
        back = [submit_node("screen", "credential-selection", Group.PROFILE, text.back_button())] \
            if self.two_step else []
        flow.nodes = [*hidden, *sent_nodes(text_code.registration_code_label()), *back, *kept_csrf(flow)]
        flow.reset_messages()
        flow.add_message(text_code.registration_code_sent())
        flow.body["state"] = "sent_email"
        flow.body["active"] = self.id

    async def _send_to(self, via: str, address: str, data: dict[str, Any]) -> None:
        try:
            await self.courier.enqueue(via, address, "registration_code_valid", data)
        except GatekeeperError as exc:  # refused by the courier: the form answers as for any address
            log.info("registration code not queued", extra={"error": exc.reason})

    # -- step two: create ----------------------------------------------------------------------------------

    async def _create(self, flow: Flow, body: dict[str, Any], schema: IdentitySchema,
                      traits: dict[str, Any]) -> IdentityRecord:
        code = (text_field(body, "code") or "").strip()
        if not code:
            attach(flow, "code", text.required("code"))
            raise ValidationFailed()
        if traits != flow.internal.get("traits"):  # the client switched the traits after the code was sent
            flow.add_message(text_code.traits_mismatch())
            raise ValidationFailed()
        challenge = await self.codes.use(flow, code)
        if challenge is None:
            flow.add_message(text_code.registration_code_invalid())
            raise ValidationFailed()
        ident = self.new_identity(schema, traits, [tuple(a) for a in challenge["addresses"]])
        await create_registered(self.ctx, flow, ident)
        return ident

    def new_identity(self, schema: IdentitySchema, traits: dict[str, Any],
                     addresses: list[tuple[str, ...]]) -> IdentityRecord:
        """The identity with its `code` credential; the addresses the code reached are verified."""
        ident = self.ctx.identities.new(schema, traits, {})
        now = datetime.now(UTC)
        ident.credentials["code"] = CredentialRecord(
            id=str(uuid.uuid4()), type="code", identifiers=sorted({value for _, value in addresses}),
            config={"addresses": [{"channel": via, "address": value} for via, value in addresses]},
            created_at=now, updated_at=now)
        for address in ident.addresses:
            if address.kind == "verifiable" and (address.via, address.value) in addresses:
                address.verified, address.status, address.verified_at = True, "completed", now
        return ident
