"""Kratos' `identifier_first` login style: ask for the identifier, then show the sign-in methods.

The second screen is the same whether or not the account exists (Kratos' account-enumeration
mitigation, always on here): it reveals nothing an attacker could not learn from the unified form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.identity import text
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.schemas import IdentitySchema
from gatekeeper.identity.strategies.common import attach, text_field
from gatekeeper.identity.ui import Group, find, input_node, submit_node

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.store.identities import IdentityRecord

AUTOCOMPLETE = "username webauthn"


class IdentifierFirstStrategy:
    id: ClassVar[str] = "identifier_first"
    group: ClassVar[Group] = Group.IDENTIFIER_FIRST

    def __init__(self, show_methods: Any) -> None:
        self._show_methods = show_methods  # callback(flow, identifier): adds the methods' nodes

    def populate_login(self, flow: Flow, schema: IdentitySchema, *, identifier: str | None = None) -> None:
        flow.nodes.append(input_node("identifier", Group.IDENTIFIER_FIRST, value=identifier or "", required=True,
                                     autocomplete=AUTOCOMPLETE, label=schema.identifier_label()))
        flow.nodes.append(submit_node("method", self.id, Group.IDENTIFIER_FIRST, text.continue_button()))

    async def login(self, flow: Flow, body: dict[str, Any], client: ClientInfo) -> IdentityRecord | None:
        """Never signs in: moves the flow to its second screen (None = the flow continues)."""
        if body.get("method") != self.id:
            raise NotResponsible()
        identifier = text_field(body, "identifier")
        if not identifier or not identifier.strip():
            attach(flow, "identifier", text.required("identifier"))
            raise ValidationFailed()
        flow.nodes = [n for n in flow.nodes if not (n["attributes"].get("name") == "method"
                                                    and n["attributes"].get("value") == self.id)]
        node = find(flow.nodes, "identifier")
        if node is not None:
            node["attributes"].update(type="hidden", value=identifier, autocomplete=AUTOCOMPLETE)
        self._show_methods(flow, identifier)
        flow.body["active"] = self.id
        return None
