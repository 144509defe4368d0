"""`unauthorized`: always 401 and stops the chain."""

from __future__ import annotations

from gatekeeper.access.handlers import AuthSession, Deps, NoConfig
from gatekeeper.errors import Unauthorized


class AlwaysUnauthorized:
    def __init__(self, cfg: NoConfig, deps: Deps) -> None:
        pass

    async def authenticate(self, session: AuthSession) -> None:
        raise Unauthorized("Access credentials are invalid", reason="the unauthorized authenticator denies")
