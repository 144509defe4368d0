"""Sign in with a one-time code (Kratos' `code` login, `selfservice.methods.code.passwordless_enabled`).

Step one (`method=code`, `identifier`): a 6-digit code goes to the identity's code address (a trait marked
`credentials.code.identifier`) and the flow moves to `sent_email`; step two (`method=code`, `code`) signs in.
`resend=code` sends a new one. An unknown or inactive identifier gets the same answer and no message, and its
"code" never matches (no enumeration). A refresh login knows its identity: one "Send code to <address>" button
(`address`) per address of it instead of the identifier (newer Kratos, ory/kratos#4194), and codes go to those
addresses only. The code is bound to the flow, single use, expires with
`methods.code.config.lifespan` and is void after `max_submissions` wrong tries.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.errors import GatekeeperError
from gatekeeper.identity import text, text_code
from gatekeeper.identity.aal import code_addresses
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.phones import channel_of, graceful
from gatekeeper.identity.schemas import IdentitySchema
from gatekeeper.identity.strategies.code_ui import kept_csrf, sent_nodes, wants_new_code
from gatekeeper.identity.strategies.common import MAX_FIELD, attach, text_field
from gatekeeper.identity.strategies.onetime import OneTimeCodes, new_code
from gatekeeper.identity.ui import Group, find, input_node, submit_node
from gatekeeper.store.identities import IdentityRecord

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.context import IdentityContext
    from gatekeeper.identity.courier import Courier

log = logging.getLogger("gatekeeper.identity.code")
REFRESHED = "code_refresh_identity"  # flow.internal: the identity a refresh login's address buttons belong to


class CodeLoginStrategy:
    """A first factor for the login flow (fits `identity.ports.LoginMethod`)."""

    id: ClassVar[str] = "code"
    identifier_free: ClassVar[bool] = False

    def __init__(self, ctx: IdentityContext, courier: Courier) -> None:
        self.ctx, self.courier = ctx, courier
        self.codes = OneTimeCodes(ctx, "login", self.id, ctx.config.selfservice.methods.code.config)

    def populate_login(self, flow: Flow, schema: IdentitySchema, *, identifier: str | None = None) -> None:
        """The identifier (shared with the password method) and "Send sign in code"."""
        if find(flow.nodes, "identifier") is None:
            flow.nodes.append(input_node("identifier", Group.DEFAULT, type="hidden" if identifier else "text",
                                         value=identifier or "", required=True, label=schema.identifier_label()))
        self.populate_identified(flow)

    def populate_refresh(self, flow: Flow, ident: IdentityRecord) -> None:
        """The refresh login of `ident`: a button per address it can get a code at (none: other methods serve)."""
        flow.internal[REFRESHED] = ident.id
        for channel, address in code_addresses(ident):
            flow.nodes.append(input_node("address", Group.CODE, type="submit", value=address,
                                         label=text_code.send_code_to(channel, address)))

    def populate_identified(self, flow: Flow) -> None:
        """"Send sign in code" (also on the identifier-first style's second screen)."""
        flow.nodes.append(submit_node("method", self.id, Group.CODE, text_code.login_code_button()))

    async def login(self, flow: Flow, body: dict[str, Any], client: ClientInfo) -> IdentityRecord | None:
        """None when a code was sent (the flow goes on); the identity when the code is right."""
        refreshed = flow.internal.get(REFRESHED)
        if body.get("method") != self.id and not (refreshed and text_field(body, "address")):
            raise NotResponsible()
        body["method"] = self.id  # the address buttons post no method
        if wants_new_code(flow.body.get("state"), body):
            await (self._send_own(flow, body, client, refreshed) if refreshed else self._send(flow, body, client))
            return None
        return await self.verify(flow, body)

    async def before_session(self, flow: Flow, ident: IdentityRecord) -> None:
        return None

    # -- step one: send ------------------------------------------------------------------------------------

    async def _send(self, flow: Flow, body: dict[str, Any], client: ClientInfo) -> None:
        raw = text_field(body, "identifier") or flow.internal.get("code_identifier") or ""
        if not raw.strip():
            attach(flow, "identifier", text.required("identifier"))
            raise ValidationFailed()
        address = graceful(raw)[:MAX_FIELD]
        await self.send_code(flow, address, await self.owner(address), client)

    async def _send_own(self, flow: Flow, body: dict[str, Any], client: ClientInfo, identity_id: str) -> None:
        """A refresh login: the chosen address (or, on resend, the last one) must be the identity's own."""
        raw = text_field(body, "address") or text_field(body, "identifier") or flow.internal.get("code_identifier")
        address = graceful(raw or "")[:MAX_FIELD]
        ident = await self.ctx.store.identity(identity_id)
        if ident is None or address not in {a for _, a in code_addresses(ident)}:
            flow.add_message(text_code.no_code_user())
            raise ValidationFailed()
        await self.send_code(flow, address, ident, client)

    async def send_code(self, flow: Flow, address: str, owner: IdentityRecord | None,
                        client: ClientInfo | None) -> None:
        """A new code for `owner` to `address` (nothing is sent when there is no owner), and the sent screen."""
        await self.codes.throttle_send(address, client)
        await self.codes.clear(flow)
        if owner is not None:
            secret = new_code()
            self.codes.issue(flow, secret, address=address, identity_id=owner.id)
            await self._mail(address, {"login_code": secret, "identity": self.ctx.identities.to_json(owner),
                                       "request_url": flow.body["request_url"],
                                       "expires_in_minutes": self.codes.expires_in_minutes})
        flow.internal["code_identifier"] = address
        identifier = input_node("identifier", Group.DEFAULT, type="hidden", value=address)
        flow.nodes = [identifier, *sent_nodes(text_code.login_code_label()), *kept_csrf(flow)]
        flow.reset_messages()
        flow.add_message(text_code.login_code_sent())
        flow.body["state"] = "sent_email"
        flow.body["active"] = self.id

    async def owner(self, address: str) -> IdentityRecord | None:
        """The active identity whose code address is `address`: its `code` credential, or (signed up another way)
        a verifiable address on a trait the schema marks as a code identifier."""
        ident = await self.ctx.store.identity_by_identifier("code", address)
        if ident is None:
            via = channel_of(address)
            found = await self.ctx.store.address_owner("verifiable", via, address)
            ident = await self.ctx.store.identity(found[0]) if found else None
            schema = self.ctx.schemas.get(ident.schema_id) if ident else None
            if ident is None or schema is None or (via, address) not in schema.code_addresses(ident.traits):
                return None
        return ident if ident.state == "active" else None

    async def _mail(self, address: str, data: dict[str, Any]) -> None:
        try:
            await self.courier.enqueue(channel_of(address), address, "login_code_valid", data)
        except GatekeeperError as exc:  # an address the courier cannot use: the same answer as any other
            log.info("login code not queued", extra={"error": exc.reason})

    # -- step two: verify ----------------------------------------------------------------------------------

    async def verify(self, flow: Flow, body: dict[str, Any], *, of: IdentityRecord | None = None) -> IdentityRecord:
        """The identity the submitted code proves (`of`: only that identity's, for a second factor)."""
        code = (text_field(body, "code") or "").strip()
        if not code:
            attach(flow, "code", text.required("code"))
            raise ValidationFailed()
        challenge = await self.codes.use(flow, code)
        ident = await self.ctx.store.identity(challenge["identity_id"]) if challenge else None
        if challenge is None or ident is None or ident.state != "active" or (of is not None and of.id != ident.id):
            flow.add_message(text_code.login_code_invalid())
            raise ValidationFailed()
        # the code reached the address: it counts as verified, as Kratos does
        found = await self.ctx.store.address_owner("verifiable", channel_of(challenge["address"]),
                                                   challenge["address"])
        if found and found[0] == ident.id:
            await self.ctx.store.mark_address_verified(found[1], datetime.now(UTC))
            ident = await self.ctx.store.identity(ident.id) or ident
        return ident
