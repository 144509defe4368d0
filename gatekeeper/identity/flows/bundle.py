"""`FlowHandlers`: every self-service flow handler, built once by the composition root and handed on typed."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.identity.flows.handler import FlowHandler
from gatekeeper.identity.flows.login import LoginFlows
from gatekeeper.identity.flows.recovery import RecoveryFlows
from gatekeeper.identity.flows.registration import RegistrationFlows
from gatekeeper.identity.flows.settings import SettingsFlows
from gatekeeper.identity.flows.verification import VerificationFlows


@dataclass(frozen=True)
class FlowHandlers:
    login: LoginFlows
    registration: RegistrationFlows
    settings: SettingsFlows
    verification: VerificationFlows
    recovery: RecoveryFlows

    def by_kind(self, kind: str) -> FlowHandler | None:
        """The handler of a flow kind (`login`, `settings`...); None for anything else."""
        handler = {"login": self.login, "registration": self.registration, "settings": self.settings,
                   "verification": self.verification, "recovery": self.recovery}.get(kind)
        return handler
