"""`deny`: every request is forbidden (403)."""

from __future__ import annotations

from gatekeeper.access.handlers import AuthSession, Deps, NoConfig
from gatekeeper.errors import Forbidden

FORBIDDEN = "Access credentials are not sufficient to access this resource"


class Deny:
    def __init__(self, cfg: NoConfig, deps: Deps) -> None:
        pass

    async def authorize(self, session: AuthSession) -> None:
        raise Forbidden(FORBIDDEN, reason="the deny authorizer denies")
