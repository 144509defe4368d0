"""`noop`: always succeeds; the subject stays empty (no authentication at all)."""

from __future__ import annotations

from gatekeeper.access.handlers import AuthSession, Deps, NoConfig


class NoopAuthenticator:
    def __init__(self, cfg: NoConfig, deps: Deps) -> None:
        pass

    async def authenticate(self, session: AuthSession) -> None:
        return None
