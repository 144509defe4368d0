"""`anonymous`: a fixed subject, unless the request carries any `Authorization` header (then not responsible)."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.access.handlers import AuthSession, Deps, NotResponsible


@dataclass(frozen=True)
class AnonymousConfig:
    subject: str = "anonymous"


class Anonymous:
    def __init__(self, cfg: AnonymousConfig, deps: Deps) -> None:
        self.subject = cfg.subject

    async def authenticate(self, session: AuthSession) -> None:
        if session.view.headers.get("authorization"):
            raise NotResponsible
        session.subject = self.subject
