"""The profile method: the first step of Kratos' two-step (profile first) registration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from gatekeeper.identity import text
from gatekeeper.identity.flows.base import Flow, NotResponsible, ValidationFailed
from gatekeeper.identity.schemas import IdentitySchema
from gatekeeper.identity.strategies.common import attach, refill_traits, submitted_traits
from gatekeeper.identity.ui import Group, submit_node

if TYPE_CHECKING:
    from gatekeeper.identity.client import ClientInfo
    from gatekeeper.identity.context import IdentityContext
    from gatekeeper.store.identities import IdentityRecord


class ProfileStrategy:
    id: ClassVar[str] = "profile"
    group: ClassVar[Group] = Group.PROFILE

    def __init__(self, ctx: IdentityContext, show_credentials: Any) -> None:
        self.ctx = ctx
        self._show_credentials = show_credentials  # callback: (flow, schema, traits) -> None

    def populate_registration(self, flow: Flow) -> None:
        flow.nodes.append(submit_node("method", "profile", Group.PROFILE, text.registration_button()))

    async def register(self, flow: Flow, body: dict[str, Any], client: ClientInfo,
                       schema: IdentitySchema) -> IdentityRecord | None:
        """Validate the traits, then show the credential screen (or go back to the profile screen)."""
        if body.get("method") != self.id:
            raise NotResponsible()
        traits = schema.coerce(submitted_traits(body, flow.internal.get("traits")))
        if body.get("screen") == "previous":
            flow.internal["screen"] = "profile"
            self._show_credentials(flow, schema, traits, back=True)
            return None
        refill_traits(flow, schema, traits)
        errors = schema.validate(traits)
        if errors:
            for name, message in errors:
                attach(flow, name, message)
            raise ValidationFailed()
        flow.internal["traits"] = traits
        flow.internal["screen"] = "credential-selection"
        self._show_credentials(flow, schema, traits, back=False)
        return None
