"""`allow`: every authenticated request passes."""

from __future__ import annotations

from gatekeeper.access.handlers import AuthSession, Deps, NoConfig


class Allow:
    def __init__(self, cfg: NoConfig, deps: Deps) -> None:
        pass

    async def authorize(self, session: AuthSession) -> None:
        return None
