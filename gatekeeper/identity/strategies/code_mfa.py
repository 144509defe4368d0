"""A one-time code as second factor (Kratos' `code` with `selfservice.methods.code.mfa_enabled`).

The `aal=aal2` login offers one "Send code to <address>" button (`address`) per code address of the signed-in
identity: its `code` credential's addresses, else its verifiable e-mail addresses and phone numbers.
The code sent there (bound to the flow and the identity) upgrades the session to aal2.
"""

from __future__ import annotations

from typing import Any, ClassVar

from gatekeeper.identity import text_code
from gatekeeper.identity.aal import code_addresses
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.phones import graceful
from gatekeeper.identity.strategies.code_login import CodeLoginStrategy
from gatekeeper.identity.strategies.code_ui import wants_new_code
from gatekeeper.identity.strategies.common import MAX_FIELD, text_field
from gatekeeper.identity.ui import Group, input_node
from gatekeeper.store.identities import IdentityRecord


class CodeSecondFactor:
    """Fits the login flow's second factors (`populate_login`, `login_second`)."""

    id: ClassVar[str] = "code"
    group: ClassVar[Group] = Group.CODE

    def __init__(self, sender: CodeLoginStrategy) -> None:
        """`sender`: issues, sends and checks the codes (shared with the first-factor method)."""
        self.sender, self.ctx = sender, sender.ctx

    def populate_login(self, flow: Flow, ident: IdentityRecord) -> None:
        for channel, address in code_addresses(ident):
            flow.nodes.append(input_node("address", Group.CODE, type="submit", value=address,
                                         label=text_code.send_code_to(channel, address)))

    async def login_second(self, flow: Flow, body: dict[str, Any], ident: IdentityRecord) -> IdentityRecord | None:
        """None when a code was sent (the flow goes on); the identity when its code is right."""
        if body.get("method") != self.id and not (not body.get("method") and body.get("address")):
            raise NotResponsible()
        if not wants_new_code(flow.body.get("state"), body):
            return await self.sender.verify(flow, body, of=ident)
        raw = text_field(body, "address") or flow.internal.get("code_identifier") or ""
        address = graceful(raw)[:MAX_FIELD]
        if address not in {a for _, a in code_addresses(ident)}:
            flow.add_message(text_code.address_unknown())
            raise ValidationFailed()
        await self.sender.send_code(flow, address, ident, None)
        return None
