"""The `link` method of verification and recovery: a one-time link e-mailed to an address.

The link is `GET <public>/self-service/<flow>?flow=<id>&token=<token>`; the token is stored hashed in
the flow like a code (strategies/code.py), single use, with the same attempt limit.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.identity import text
from gatekeeper.identity.flows.base import Flow, NotResponsible
from gatekeeper.identity.strategies.code import AddressMethod, Challenge

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo


class LinkStrategy(AddressMethod):
    id: ClassVar[str] = "link"

    def new_secret(self) -> str:
        return secrets.token_urlsafe(24)

    def link(self, flow: Flow, token: str) -> str:
        base = str(self.ctx.config.selfservice.methods.link.config.get("base_url") or self.ctx.public_base_url)
        return f"{base.rstrip('/')}/self-service/{self.kind}?flow={flow.id}&token={token}"

    def template_data(self, flow: Flow, secret: str) -> dict[str, Any]:
        return {f"{self.kind}_url": self.link(flow, secret)}

    def populate_sent(self, flow: Flow, address: str) -> None:
        """sent_email: the same form (to send again), the address kept, and the "link sent" message."""
        for node in flow.nodes:
            if node["attributes"].get("name") == "email":
                node["attributes"]["value"] = address
        flow.reset_messages()
        flow.add_message(text.link_sent(self.kind))

    async def answer(self, flow: Flow, body: dict[str, Any], lookup: Any, client: ClientInfo) -> Challenge | None:
        """Only sends links: the token comes back through GET (see `use`)."""
        if body.get("method") != self.id:
            raise NotResponsible()
        await self.request(flow, body, lookup, client)
        return None
